"""Engines realise a desired state on a cloud; the core never imports them."""

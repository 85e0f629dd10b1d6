"""Bastion-only access (第十九条), reconciled from the forms.

``keys`` and ``access`` are pure core (forms → who may reach which host until when);
``authorized_keys`` renders and reads the OpenSSH files; ``backend`` is the small
interface a bastion product implements; ``openssh`` and ``transport`` are the only
modules that open network connections (paramiko). docs/bastion.md has the model.
"""

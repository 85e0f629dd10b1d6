"""cgcloud: approved cloud paperwork in, compliant OpenStack cloud out."""

__version__ = "0.1.0"

"""`python -m cgcloud.devcloud ...` (same as `cgcloud devcloud ...`)."""

from cgcloud.devcloud.cli import app

app(prog_name="cgcloud devcloud")

"""The small interface a bastion product implements for `cgcloud bastion plan|apply`.

OpenSSH (``openssh.py``) is the one built now. A JumpServer backend would map the same
four calls onto its REST API (docs/bastion.md): ``read`` = list the asset permissions
cgcloud created (name prefix ``cgcloud:``), ``write`` = create/update one permission per
login (users = the login, assets = the granted hosts, accounts/protocols = ssh:22 or
rdp:3389, ``date_expired`` = the account's expiry), ``remove`` = delete that permission.
"""

from __future__ import annotations

from typing import Protocol

from cgcloud.bastion.authorized_keys import ActualBastion


class LockHeld(Exception):
    """Another cgcloud is applying to this bastion (message names who and since when)."""


class BastionBackend(Protocol):
    address: str

    def read(self) -> ActualBastion:
        """The managed accounts now on the bastion (and foreign files, missing users)."""
        ...

    def write(self, login: str, text: str) -> None:
        """Replace the login's access atomically (readers see the old or the new, never half)."""
        ...

    def remove(self, login: str) -> None:
        """Remove the login's access; only what cgcloud marked as its own."""
        ...

    def lock(self, owner: str) -> None:
        """Take the bastion's apply lock or raise LockHeld."""
        ...

    def unlock(self) -> None: ...

    def close(self) -> None: ...

"""The OpenSSH side of an account: its ``authorized_keys`` text, and the diff against a bastion.

Pure. One file per login in the bastion's managed directory (sshd's
``AuthorizedKeysFile``); the first line marks the file as cgcloud's, so a file
without it is never touched. Each key gets one line::

    restrict,port-forwarding,command="/bin/false",permitopen="172.21.4.21:22",…,
    expiry-time="20270131160000Z" ssh-ed25519 AAAA… cgcloud:lisi

``restrict`` turns off everything (pty, agent/X11 forwarding, ~/.ssh/rc); only
``port-forwarding`` comes back, limited by ``permitopen`` to the granted targets;
``command="/bin/false"`` makes a shell or command on the jump host fail, while
``direct-tcpip`` channels (``ssh -J``, ``cgcloud ssh``) still work. ``expiry-time``
is written in UTC with the ``Z`` suffix: without it sshd reads the bastion's local
time zone (measured: an Asia/Shanghai wall time written without Z stayed valid
8 hours too long on a UTC host).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cgcloud.bastion.access import Account, BastionAccess
from cgcloud.i18n import _

HEADER = "# cgcloud-managed: written by `cgcloud bastion apply` from the approved forms; hand edits are removed"
FORCED_COMMAND = "/bin/false"


def expiry_time(moment: datetime) -> str:
    """OpenSSH ``expiry-time`` of an aware instant: UTC, ``YYYYMMDDHHMMSSZ``."""
    if moment.tzinfo is None:
        raise ValueError("expiry_time needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def key_line(account: Account, key_openssh: str) -> str:
    opts = ["restrict", "port-forwarding", f'command="{FORCED_COMMAND}"']
    opts += [f'permitopen="{host}:{port}"' for host, port in account.targets]
    opts.append(f'expiry-time="{expiry_time(account.expiry)}"')
    return f"{','.join(opts)} {key_openssh} cgcloud:{account.login}"


def render(account: Account) -> str:
    """The whole file for ``account`` (ends with a newline).

    Its comment lines are file content, not messages: always the same text whatever the
    language, so a run in another language does not rewrite every file (``diff``
    compares the text)."""
    lines = [
        HEADER,
        f"# {account.name}（{account.login}）依据 {'、'.join(account.projects)}："
        + "；".join(f"{g.target} {g.form} 第{g.row}行" for g in account.grants),
    ]
    lines += [key_line(account, k.openssh) for k in account.keys]
    return "\n".join(lines) + "\n"


def is_managed(text: str) -> bool:
    return text.split("\n", 1)[0].rstrip("\r") == HEADER


@dataclass(slots=True)
class ActualBastion:
    """What a backend read from one bastion: its managed files by login, the logins whose
    file exists but is not cgcloud's, and the logins that have no system account."""

    address: str
    managed: dict[str, str] = field(default_factory=dict)
    foreign: set[str] = field(default_factory=set)
    missing_users: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Change:
    """One file to write or remove on one bastion. ``drift`` are lines found on the bastion
    that cgcloud did not write (hand-added or edited); they go with the rewrite."""

    bastion: str
    action: str  # create | update | delete | conflict
    login: str
    text: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()
    note: str = ""


def diff(want: BastionAccess, have: ActualBastion) -> list[Change]:
    """The changes that make ``have`` equal ``want`` (logins in order)."""
    out: list[Change] = []
    for login in sorted(
        set(want.accounts) | set(have.managed) | (set(want.accounts) & have.foreign)
    ):
        account = want.accounts.get(login)
        if account is not None and login in have.foreign:
            out.append(
                Change(
                    want.address,
                    "conflict",
                    login,
                    note=_("该文件不是 cgcloud 管理的（没有标记行），不覆盖；请人工核对后删除"),
                )
            )
            continue
        if account is None:
            old = have.managed[login]
            out.append(Change(want.address, "delete", login, removed=tuple(_keys(old))))
            continue
        text = render(account)
        old_text = have.managed.get(login)
        if old_text is None:
            out.append(Change(want.address, "create", login, text, added=tuple(_keys(text))))
            continue
        if old_text == text:
            continue
        new_lines, old_lines = _keys(text), _keys(old_text)
        ours = [ln for ln in old_lines if ln.rsplit(" ", 1)[-1] == f"cgcloud:{login}"]
        drift = [ln for ln in old_lines if ln not in ours]
        # a comment-only edit or a reordered file still gets rewritten, but has no key drift
        out.append(
            Change(
                want.address,
                "update",
                login,
                text,
                added=tuple(ln for ln in new_lines if ln not in old_lines),
                removed=tuple(ln for ln in ours if ln not in new_lines),
                drift=tuple(drift),
            )
        )
    return out


def _keys(text: str) -> list[str]:
    """The non-comment, non-blank lines of an authorized_keys text."""
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]

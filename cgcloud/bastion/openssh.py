"""The OpenSSH backend: one ``authorized_keys`` file per login in a directory that the
bastion's sshd reads (``AuthorizedKeysFile /etc/ssh/cgcloud-keys/%u``), written over SFTP
by a management account.

Writes are atomic (a temporary file in the same directory, then the
``posix-rename@openssh.com`` rename), and only files whose first line is cgcloud's
marker are ever replaced or removed. The system accounts themselves (``useradd``) are
the bastion administrator's: cgcloud reports a login that has no account.
"""

from __future__ import annotations

import json
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

from cgcloud.bastion import authorized_keys, transport
from cgcloud.bastion.backend import LockHeld
from cgcloud.bastion.config import Endpoint
from cgcloud.i18n import _

LOGIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
LOCK_NAME = ".cgcloud-apply.lock"
LOCK_STALE_SECONDS = 900


class OpenSshBackend:
    def __init__(
        self, endpoint: Endpoint, known_hosts: Path, timeout: float = transport.DEFAULT_TIMEOUT
    ) -> None:
        if not endpoint.user:
            raise transport.SshError(
                _("堡垒机 {a} 没有配置管理账号（bastions.yaml 的 user 与 identity）").format(
                    a=endpoint.address
                )
            )
        self.address = endpoint.address
        self.endpoint = endpoint
        self.client = transport.connect(
            endpoint.host,
            endpoint.port,
            endpoint.user,
            known_hosts=known_hosts,
            identity=endpoint.identity,
            timeout=timeout,
            role=_("堡垒机 {a}（管理）").format(a=endpoint.address),
        )
        self.sftp = self.client.open_sftp()
        self.sftp.get_channel().settimeout(timeout)  # type: ignore[union-attr]
        self.dir = endpoint.keys_dir.rstrip("/")
        self._locked = False

    # -- reading -------------------------------------------------------------------------

    def read(self) -> authorized_keys.ActualBastion:
        have = authorized_keys.ActualBastion(self.address)
        try:
            entries = self.sftp.listdir_attr(self.dir)
        except FileNotFoundError:
            return have
        for entry in entries:
            name = entry.filename
            if name.startswith(".") or not set(name) <= LOGIN_CHARS:
                continue
            if entry.st_mode is None or not stat.S_ISREG(entry.st_mode):
                continue
            text = self._read_text(f"{self.dir}/{name}")
            if authorized_keys.is_managed(text):
                have.managed[name] = text
            else:
                have.foreign.add(name)
        have.missing_users = self._missing_users(set(have.managed))
        return have

    def missing_users(self, logins: set[str]) -> set[str]:
        """The logins that have no system account on the bastion."""
        return self._missing_users(logins)

    def _missing_users(self, logins: set[str]) -> set[str]:
        if not logins:
            return set()
        _in, out, _err = self.client.exec_command("getent passwd", timeout=30)
        names = {
            line.split(":", 1)[0] for line in out.read().decode("utf-8", "replace").splitlines()
        }
        if out.channel.recv_exit_status() != 0:
            return set()
        return logins - names

    def _read_text(self, path: str) -> str:
        with self.sftp.open(path, "r") as fh:
            return fh.read().decode("utf-8", "replace")

    # -- writing -------------------------------------------------------------------------

    def write(self, login: str, text: str) -> None:
        self._check_login(login)
        self._ensure_dir()
        final = f"{self.dir}/{login}"
        try:
            old = self._read_text(final)
        except FileNotFoundError:
            old = None
        if old is not None and not authorized_keys.is_managed(old):
            raise transport.SshError(_("{path} 不是 cgcloud 管理的文件，不覆盖").format(path=final))
        tmp = f"{self.dir}/.{login}.cgcloud-tmp"
        with self.sftp.open(tmp, "w") as fh:
            fh.write(text.encode("utf-8"))
        self.sftp.chmod(tmp, 0o644)
        self.sftp.posix_rename(tmp, final)

    def remove(self, login: str) -> None:
        self._check_login(login)
        path = f"{self.dir}/{login}"
        try:
            text = self._read_text(path)
        except FileNotFoundError:
            return
        if not authorized_keys.is_managed(text):
            raise transport.SshError(_("{path} 不是 cgcloud 管理的文件，不删除").format(path=path))
        self.sftp.remove(path)

    def _ensure_dir(self) -> None:
        try:
            self.sftp.stat(self.dir)
        except FileNotFoundError:
            self.sftp.mkdir(self.dir, 0o755)

    @staticmethod
    def _check_login(login: str) -> None:
        if not login or not set(login) <= LOGIN_CHARS or login[0] in "-0123456789":
            raise ValueError(f"invalid login {login!r}")

    # -- lock ----------------------------------------------------------------------------

    def lock(self, owner: str) -> None:
        """An exclusive-create lock file in the keys directory; stale after 15 minutes."""
        self._ensure_dir()
        path = f"{self.dir}/{LOCK_NAME}"
        body = json.dumps(
            {
                "owner": owner,
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "epoch": time.time(),
            }
        )
        for _attempt in range(2):
            try:
                with self.sftp.open(path, "wx") as fh:
                    fh.write(body.encode())
                self._locked = True
                return
            except OSError as exc:  # sftp-server says only "Failure" when the file exists
                try:
                    held = json.loads(self._read_text(path))
                except FileNotFoundError:
                    raise exc from None
                except (OSError, ValueError):
                    held = {}
                if time.time() - float(held.get("epoch", 0)) > LOCK_STALE_SECONDS:
                    self.sftp.remove(path)  # stale: its owner died; take it over
                    continue
                raise LockHeld(
                    _(
                        "堡垒机 {a} 正由 {owner} 自 {since} 起执行 cgcloud bastion apply；稍后重试"
                    ).format(
                        a=self.address, owner=held.get("owner", "?"), since=held.get("since", "?")
                    )
                ) from None
        raise LockHeld(_("堡垒机 {a} 的锁无法获取").format(a=self.address))

    def unlock(self) -> None:
        if self._locked:
            try:
                self.sftp.remove(f"{self.dir}/{LOCK_NAME}")
            finally:
                self._locked = False

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self.client.close()

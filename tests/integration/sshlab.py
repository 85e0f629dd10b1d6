"""A bastion and two target hosts as real OpenSSH sshd processes on loopback addresses.

Used by test_bastion_ssh.py. Debian's openssh-server is installed when missing (root
and apt-get needed; the caller skips with the reason otherwise). Nothing of the
machine's own sshd is touched: every instance has its own config, host key and pid
file in a temporary directory, listens on its own 127.0.x.y address, and reads
authorized_keys only from a directory under /run that the lab creates (sshd's
StrictModes stays on, which /tmp's permissions would not allow). The test users are
created here and deleted again.

Topology (one zone ``lab``, 127.0.0.0/8):
  bastion  127.0.0.1:<free port>   the managed accounts' keys in <run>/keys/%u (cgcloud
                                   writes them), root's management key in <run>/mgmt/root
  target A <net>.2:22              accepts users only from 127.0.0.1 (the bastion)
  target B <net>.3:22              same; no form row allows it
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
START_TIMEOUT = 20.0  # seconds for an sshd to accept connections on a loaded box


def ensure_openssh_server() -> str | None:
    """None when sshd is usable, else why not (for ``promtools.unavailable``). Debian's
    openssh-server is apt-get installed when missing (the suite's ``needs_apt`` rule)."""
    from promtools import Unavailable, ensure_debian

    if os.geteuid() != 0:
        return "the SSH lab needs root (test users, port 22 on loopback addresses)"
    if not Path(SSHD).exists():
        try:
            ensure_debian("openssh-server", ("sshd",))
        except Unavailable as exc:
            return str(exc)
        if not Path(SSHD).exists():
            return f"openssh-server installed but {SSHD} is missing"
    for tool in ("ssh-keygen", "useradd", "userdel", "usermod"):
        if shutil.which(tool) is None:
            return f"{tool} is not available"
    return None


def keygen(path: Path, comment: str = "") -> str:
    """A new ed25519 key pair at ``path``; the public line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True
    )
    return Path(str(path) + ".pub").read_text().strip()


def remove_user(user: str) -> None:
    """userdel, retried while the user's last sshd session processes exit (userdel refuses a
    user with running processes), then forced: the lab must not leave users behind."""
    for _attempt in range(20):
        if subprocess.run(["userdel", user], capture_output=True).returncode in (0, 6):
            return  # 6: no such user
        time.sleep(0.25)
    subprocess.run(["userdel", "-f", user], capture_output=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_listening(host: str, port: int, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd on {host}:{port} did not start within {timeout} s")


@dataclass
class Sshd:
    name: str
    host: str
    port: int
    host_key: Path
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def known_hosts_line(self) -> str:
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        kind, blob = Path(str(self.host_key) + ".pub").read_text().split()[:2]
        return f"{name} {kind} {blob}"

    def start(self) -> None:
        self.proc = subprocess.Popen([SSHD, "-D", "-f", str(self.config), "-E", str(self.log)])
        wait_listening(self.host, self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Lab:
    tmp: Path
    run: Path
    net: str
    users: list[str]
    user_keys: dict[str, Path]  # login → private key file
    mgmt_key: Path
    bastion: Sshd
    targets: dict[str, Sshd]
    created_users: list[str] = field(default_factory=list)

    @property
    def keys_dir(self) -> Path:
        return self.run / "keys"

    def known_hosts(self) -> str:
        return "".join(s.known_hosts_line() + "\n" for s in [self.bastion, *self.targets.values()])

    def close(self) -> None:
        for s in [self.bastion, *self.targets.values()]:
            s.stop()
        for user in self.created_users:
            remove_user(user)
        shutil.rmtree(self.run, ignore_errors=True)


def _sshd_config(path: Path, host: str, port: int, host_key: Path, pid: Path, extra: str) -> None:
    path.write_text(
        f"ListenAddress {host}:{port}\n"
        f"HostKey {host_key}\n"
        f"PidFile {pid}\n"
        "UsePAM no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "StrictModes yes\n"
        "LogLevel VERBOSE\n"
        "MaxStartups 50\n"
        "UseDNS no\n" + extra
    )


def start(tmp: Path) -> Lab:
    """Create users, keys and three sshd instances; the caller must call ``close()``."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="cgcloud-sshlab-", dir="/run"))
    run.chmod(0o755)
    for sub in ("keys", "mgmt", "target-keys"):
        (run / sub).mkdir(mode=0o755)
    tag = secrets.token_hex(2)
    net = f"127.0.{20 + int(tag, 16) % 200}"
    users = [f"cgb{tag}a", f"cgb{tag}b"]
    lab_users: list[str] = []
    user_keys: dict[str, Path] = {}
    try:
        for user in users:
            subprocess.run(
                ["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", user],
                check=True,
                capture_output=True,
            )
            lab_users.append(user)
            subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True)
            key = tmp / f"id_{user}"
            pub = keygen(key, f"{user}@lab")
            user_keys[user] = key
            # the targets know the operators' own keys (the system's business, not cgcloud's)
            (run / "target-keys" / user).write_text(pub + "\n")
            (run / "target-keys" / user).chmod(0o644)
        mgmt = tmp / "id_mgmt"
        (run / "mgmt" / "root").write_text(keygen(mgmt, "cgcloud-mgmt") + "\n")
        (run / "mgmt" / "root").chmod(0o600)

        def sshd(name: str, host: str, port: int, extra: str) -> Sshd:
            hk = tmp / f"hostkey_{name}"
            keygen(hk, name)
            cfg = tmp / f"sshd_{name}.conf"
            _sshd_config(cfg, host, port, hk, tmp / f"sshd_{name}.pid", extra)
            return Sshd(name, host, port, hk, cfg, tmp / f"sshd_{name}.log")

        bastion = sshd(
            "bastion",
            "127.0.0.1",
            free_port(),
            f"AuthorizedKeysFile {run}/keys/%u\n"
            "AllowTcpForwarding yes\n"
            "PermitRootLogin prohibit-password\n"
            "Subsystem sftp internal-sftp\n"
            "Match User root\n"
            f"    AuthorizedKeysFile {run}/mgmt/%u\n",
        )
        allow = " ".join(f"{u}@127.0.0.1" for u in users)
        targets = {
            name: sshd(
                name,
                f"{net}.{last}",
                22,
                f"AuthorizedKeysFile {run}/target-keys/%u\n"
                "AllowTcpForwarding no\n"
                "PermitRootLogin no\n"
                f"AllowUsers {allow}\n",
            )
            for name, last in (("A", 2), ("B", 3))
        }
        lab = Lab(tmp, run, net, users, user_keys, mgmt, bastion, targets, lab_users)
    except BaseException:
        for user in lab_users:
            remove_user(user)
        shutil.rmtree(run, ignore_errors=True)
        raise
    try:
        for s in [bastion, *targets.values()]:
            s.start()
    except BaseException:
        lab.close()
        raise
    return lab

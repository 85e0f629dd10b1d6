"""Process, port and log helpers for the devcloud (Linux /proc based, no psutil).

Why no psutil: the launcher runs in the user's environment, and /proc gives
everything needed (pid liveness, process tree, RSS) without another dependency.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path


class DevcloudError(RuntimeError):
    """A failure the user can act on: says which service and shows its log tail."""

    def __init__(self, service: str, message: str, logs: Iterable[Path] = (), lines: int = 20):
        self.service = service
        self.summary = message
        text = f"devcloud: {service}: {message}"
        tail = format_log_tail(logs, lines)
        if tail:
            text += "\n" + tail
        super().__init__(text)


def tail_lines(path: Path, lines: int = 20) -> list[str]:
    """Last `lines` lines of a (possibly large, possibly missing) text file."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    return text[-lines:] if lines > 0 else []


def format_log_tail(logs: Iterable[Path], lines: int = 20) -> str:
    """'--- last N lines of <file> ---' blocks for each non-empty log."""
    blocks = []
    for path in logs:
        got = tail_lines(path, lines)
        if got:
            blocks.append(f"--- last {len(got)} lines of {path} ---\n" + "\n".join(got))
    return "\n".join(blocks)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something already listens on host:port (we could not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if a TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_answers(url: str, timeout: float = 2.0) -> bool:
    """True if the URL gives any HTTP response (401/300 included)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def listener_pid(port: int) -> int | None:
    """Pid of the process listening on 127.0.0.1:port, if /proc tells us."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inode = cols[9]
                break
        if inode:
            break
    if not inode:
        return None
    target = f"socket:[{inode}]"
    for pid in _all_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
    return None


def process_name(pid: int) -> str:
    """Short command line of a pid, for messages."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(raw.decode(errors="replace").split("\0")).strip()[:120] or "?"


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, starttime) from /proc/<pid>/stat, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[19])


def alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    return _stat(pid) is not None


def descendants(pid: int) -> list[int]:
    """pid and every process below it in the tree."""
    children: dict[int, list[int]] = {}
    for p in _all_pids():
        st = _stat(p)
        if st:
            children.setdefault(st[0], []).append(p)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_bytes(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of pid and all its descendants, in bytes.

    RSS counts shared pages once per process (PostgreSQL's shared buffers, forked
    workers' copy-on-write pages), so its sum overstates the total; PSS splits
    shared pages between the processes that map them, so PSS sums add up.
    """
    rss = pss = 0
    for p in descendants(pid):
        got_pss = False
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                    got_pss = True
                    break
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1]) * 1024
                    rss += kb
                    pss += 0 if got_pss else kb
                    break
    return rss, pss


def read_pid(pidfile: Path) -> int | None:
    """The pid recorded in a pidfile, if that very process still exists.

    The file holds "pid starttime"; a pid whose start time differs was reused
    by another process (e.g. after a reboot) and is not ours to signal.
    """
    try:
        fields = pidfile.read_text().split()
        pid = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    if len(fields) > 1:
        st = _stat(pid)
        if st is None or str(st[1]) != fields[1]:
            return None
    return pid


def write_pid(pidfile: Path, pid: int) -> None:
    """Record pid with its start time (see read_pid)."""
    st = _stat(pid)
    pidfile.write_text(f"{pid} {st[1] if st else ''}".strip() + "\n")


def start(
    argv: Sequence[str],
    log: Path,
    env: dict[str, str],
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a detached process (own session) with stdout+stderr to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            user=user,
        )


def stop(pid: int, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Stop pid and everything below it (see stop_all)."""
    stop_all([(pid, sig)], timeout)


def stop_all(targets: Sequence[tuple[int, int]], timeout: float = 5.0) -> None:
    """Signal every (pid, signal), wait for them and their trees, SIGKILL survivors.

    Why the trees: oslo.service and gunicorn workers are children of the pid we
    recorded; a worker left behind would keep its port. All are signalled first
    and waited for together, so a slow one does not serialise the shutdown.
    """
    tree: list[tuple[int, tuple[int, int] | None]] = []
    for pid, _sig in targets:
        tree += [(p, _stat(p)) for p in descendants(pid)]
    tree = [(p, st) for p, st in tree if st]
    for pid, sig in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_same(p, st) for p, st in tree):
            return
        time.sleep(0.1)
    for p, st in tree:
        if _same(p, st):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_same(p, st) for p, st in tree):
        time.sleep(0.1)


def _same(pid: int, st: tuple[int, int] | None) -> bool:
    """pid still runs the same process (not a reused pid)."""
    now = _stat(pid)
    return now is not None and st is not None and now[1] == st[1]


def run(
    argv: Sequence[str],
    what: str,
    log: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    timeout: float = 900,
) -> str:
    """Run a setup command, append its output to `log`; raise DevcloudError on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            user=user,
            cwd=cwd,
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        raise DevcloudError(what, f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise DevcloudError(what, f"timed out after {timeout:.0f}s: {' '.join(argv[:3])}") from exc
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    with log.open("a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(argv)}\n{out}\n")
    if proc.returncode != 0:
        raise DevcloudError(
            what,
            f"`{Path(argv[0]).name} {' '.join(argv[1:3])}` failed (exit {proc.returncode})",
            [log],
        )
    return out

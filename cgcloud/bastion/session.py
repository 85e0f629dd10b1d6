"""`cgcloud ssh` and `cgcloud tunnel` sessions over a bastion, counting bytes each way.

Network side only; whether a session is allowed is decided before, from the forms
(``access.check``). The counters feed the audit entry of each session.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO

import paramiko

from cgcloud.bastion import transport
from cgcloud.i18n import _


@dataclass(slots=True)
class Counters:
    sent: int = 0  # to the target
    received: int = 0  # from the target
    exit_status: int | None = None


class CommandTimeout(Exception):
    """The command ran longer than its limit (the channel was closed)."""


def run_command(
    client: paramiko.SSHClient,
    command: str,
    out: IO[bytes],
    err: IO[bytes],
    counters: Counters,
    limit_seconds: float | None = None,
) -> int:
    """Run ``command`` on the target, copying its output; the exit status. With
    ``limit_seconds``, a command still running then is abandoned (CommandTimeout)."""
    channel = client.get_transport().open_session()  # type: ignore[union-attr]
    channel.exec_command(command)
    channel.shutdown_write()
    deadline = None if limit_seconds is None else time.monotonic() + limit_seconds
    while True:
        if deadline is not None and time.monotonic() > deadline:
            channel.close()
            raise CommandTimeout(command)
        if channel.recv_ready():
            data = channel.recv(32768)
            counters.received += len(data)
            out.write(data)
            out.flush()
        elif channel.recv_stderr_ready():
            data = channel.recv_stderr(32768)
            counters.received += len(data)
            err.write(data)
            err.flush()
        elif (
            channel.exit_status_ready()
            and not channel.recv_ready()
            and not channel.recv_stderr_ready()
        ):
            break
        else:
            select.select([channel], [], [], 1.0)
    counters.exit_status = channel.recv_exit_status()
    channel.close()
    return counters.exit_status


def interactive(
    client: paramiko.SSHClient, counters: Counters
) -> int:  # pragma: no cover - needs a tty
    """A shell on the target with the local terminal in raw mode."""
    import termios
    import tty

    channel = client.get_transport().open_session()  # type: ignore[union-attr]
    size = os.get_terminal_size()
    channel.get_pty(os.environ.get("TERM", "xterm"), size.columns, size.lines)
    channel.invoke_shell()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # keep what was typed ahead (TCSAFLUSH drops it)
        while True:
            ready, _w, _x = select.select([channel, fd], [], [])
            if channel in ready:
                data = channel.recv(32768)
                if not data:
                    break
                counters.received += len(data)
                os.write(sys.stdout.fileno(), data)
            if fd in ready:
                data = os.read(fd, 1024)
                if not data:
                    break
                counters.sent += len(data)
                channel.sendall(data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    counters.exit_status = channel.recv_exit_status()
    return counters.exit_status


class Tunnel:
    """A local listener; each accepted connection gets its own direct-tcpip channel."""

    def __init__(self, bastion: paramiko.SSHClient, host: str, port: int, listen: tuple[str, int]):
        self.bastion, self.host, self.port = bastion, host, port
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(listen)
        self.server.listen(8)
        self.address: tuple[str, int] = self.server.getsockname()
        self.counters = Counters()
        self.connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def serve(self, max_connections: int | None = None) -> None:
        """Accept until stopped (or after ``max_connections``, for scripts and tests)."""
        self.server.settimeout(0.5)
        threads = []
        while not self._stop.is_set():
            if max_connections is not None and self.connections >= max_connections:
                break
            try:
                conn, peer = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self.connections += 1
            t = threading.Thread(target=self._pipe, args=(conn, peer), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        self.server.close()

    def stop(self) -> None:
        self._stop.set()

    def _pipe(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        try:
            channel = transport.open_direct(self.bastion, self.host, self.port, origin=peer)
        except transport.SshError as exc:
            # the CLI's error prefix (cli/options.error_text), same msgid: the core cannot import it
            sys.stderr.write(_("错误: {message}").format(message=exc) + "\n")
            conn.close()
            return
        try:
            while True:
                ready, _w, _x = select.select([conn, channel], [], [], 1.0)
                if conn in ready:
                    data = conn.recv(32768)
                    if not data:
                        break
                    channel.sendall(data)
                    with self._lock:
                        self.counters.sent += len(data)
                if channel in ready:
                    data = channel.recv(32768)
                    if not data:
                        break
                    conn.sendall(data)
                    with self._lock:
                        self.counters.received += len(data)
        except OSError:
            pass
        finally:
            channel.close()
            conn.close()

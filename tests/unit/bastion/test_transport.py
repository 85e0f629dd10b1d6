"""Connection failures become one clear sentence within the timeout (real loopback sockets)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from cgcloud.bastion import transport


def test_silent_server_times_out_with_a_clear_message(tmp_path: Path) -> None:
    """A bastion that accepts TCP but never speaks SSH (hung sshd, wrong service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    (tmp_path / "known_hosts").write_text("")
    started = time.monotonic()
    try:
        with pytest.raises(transport.SshError, match="2 秒内没有 SSH 应答"):
            transport.connect(
                "127.0.0.1", port, "x", known_hosts=tmp_path / "known_hosts", timeout=2
            )
    finally:
        for c in held:
            c.close()
        server.close()
    assert time.monotonic() - started < 30


def test_refused_port_is_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    (tmp_path / "known_hosts").write_text("")
    with pytest.raises(transport.SshError, match="无法连接堡垒机 127.0.0.1"):
        transport.connect("127.0.0.1", port, "x", known_hosts=tmp_path / "known_hosts", timeout=2)


def test_known_hosts_names_follow_openssh() -> None:
    assert transport.known_hosts_name("10.0.0.1", 22) == "10.0.0.1"
    assert transport.known_hosts_name("10.0.0.1", 2201) == "[10.0.0.1]:2201"


def test_missing_known_hosts_file_is_a_clear_error() -> None:
    """Host keys must be registered beforehand: no file, no connection attempt."""
    with pytest.raises(transport.SshError, match="known_hosts"):
        transport.connect("127.0.0.1", 1, "x", known_hosts=Path("/nonexistent/known_hosts"))

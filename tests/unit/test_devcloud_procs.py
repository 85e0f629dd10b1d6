"""devcloud: ports in use, process trees, errors with log tails, start failures.

Real sockets, real processes, real files; nothing here talks to OpenStack.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgcloud.devcloud import launcher, procs
from cgcloud.devcloud.cli import app
from cgcloud.devcloud.config import SERVICE_BY_NAME, Layout
from cgcloud.devcloud.procs import DevcloudError


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s
    s.close()


def test_port_in_use_detection(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    assert procs.port_in_use(port)
    assert procs.port_answers(port)
    assert procs.listener_pid(port) == os.getpid()
    listener.close()
    assert not procs.port_in_use(port)
    assert not procs.port_answers(port)


def test_taken_port_names_the_service(tmp_path: Path) -> None:
    port = SERVICE_BY_NAME["keystone"].port
    assert port is not None
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a stopped keystone
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
    except OSError:  # a devcloud is running here: its keystone holds the port already
        assert procs.port_answers(port)
    try:
        with pytest.raises(DevcloudError) as info:
            launcher._check_ports(Layout(tmp_path), "minimal")
        assert info.value.service == "keystone"
        assert f"127.0.0.1:{port} is already in use" in str(info.value)
    finally:
        s.close()


def test_error_message_carries_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "neutron.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 101)))
    err = DevcloudError("neutron", "exited during start (exit 1)", [log, tmp_path / "none.log"])
    text = str(err)
    assert text.startswith("devcloud: neutron: exited during start (exit 1)")
    assert f"--- last 20 lines of {log} ---" in text
    assert "line 100" in text and "line 81" in text and "line 80\n" not in text
    assert "none.log" not in text
    assert procs.tail_lines(tmp_path / "missing.log") == []


def test_service_dying_during_start_is_reported_and_nothing_is_left(tmp_path: Path) -> None:
    lay = Layout(tmp_path)
    lay.run.mkdir(parents=True)
    starter = launcher._Starter(lay, "minimal", launcher._Clock(lambda m: None))
    svc = SERVICE_BY_NAME["neutron"]
    starter.start(
        svc, [sys.executable, "-c", "import sys; print('cannot load plugin bind_all'); sys.exit(3)"]
    )
    starter.start(
        SERVICE_BY_NAME["keystone"], [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    keystone_pid = procs.read_pid(lay.pidfile("keystone"))
    with pytest.raises(DevcloudError) as info:
        starter.wait("neutron", lambda: False, timeout=20)
    text = str(info.value)
    assert "neutron: exited during start (exit 3)" in text
    assert "cannot load plugin bind_all" in text
    launcher.down(dir=tmp_path, progress=lambda m: None)
    assert keystone_pid and not procs.alive(keystone_pid)
    assert not list(lay.run.glob("*.pid"))


def test_stop_all_takes_the_whole_tree(tmp_path: Path) -> None:
    p = procs.start(
        ["sh", "-c", "sleep 60 & sleep 60 & wait"], tmp_path / "x.out", dict(os.environ)
    )
    deadline = time.monotonic() + 5
    while len(procs.descendants(p.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = procs.descendants(p.pid)
    assert len(tree) == 3
    rss, pss = procs.memory_bytes(p.pid)
    assert rss > 0 and pss > 0
    procs.stop_all([(p.pid, 15)], timeout=5)
    p.wait(5)
    assert not any(procs.alive(x) for x in tree)


def test_run_failure_names_the_step_and_shows_output(tmp_path: Path) -> None:
    with pytest.raises(DevcloudError) as info:
        procs.run(
            [sys.executable, "-c", "print('db_sync exploded'); raise SystemExit(2)"],
            "keystone",
            tmp_path / "setup.log",
        )
    assert info.value.service == "keystone" and "exit 2" in str(info.value)
    assert "db_sync exploded" in str(info.value)
    with pytest.raises(DevcloudError, match="command not found"):
        procs.run(["/nonexistent/keystone-manage"], "keystone", tmp_path / "setup.log")


def test_status_logs_and_cli_on_an_empty_dir(tmp_path: Path) -> None:
    assert not launcher.is_up(tmp_path)
    assert all(not r.up and r.pid is None for r in launcher.status(tmp_path))
    with pytest.raises(DevcloudError, match="no log found"):
        launcher.logs("neutron", dir=tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["status", "--dir", str(tmp_path)])
    assert res.exit_code == 1 and "keystone" in res.output
    res = runner.invoke(app, ["down", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and "nothing was running" in res.output
    res = runner.invoke(app, ["up", "--profile", "huge", "--dir", str(tmp_path)])
    assert res.exit_code == 64
    for cmd in ("up", "status", "down", "logs"):
        assert runner.invoke(app, [cmd, "--help"]).exit_code == 0


def test_logs_shows_the_tail(tmp_path: Path) -> None:
    lay = Layout(tmp_path)
    lay.log.mkdir(parents=True)
    lay.service_log("nova-compute").write_text("a\nb\nc\n")
    assert launcher.logs("nova-compute", 2, dir=tmp_path).endswith("b\nc")


def test_pidfile_ignores_a_reused_pid(tmp_path: Path) -> None:
    f = tmp_path / "x.pid"
    procs.write_pid(f, os.getpid())
    assert procs.read_pid(f) == os.getpid()
    f.write_text(f"{os.getpid()} 1\n")  # same pid, other start time: not ours
    assert procs.read_pid(f) is None
    f.write_text("garbage\n")
    assert procs.read_pid(f) is None

"""Services don't die (docs/reliability.md 5): `cgcloud exporter` and `cgcloud enforce
--watch` started while the cloud hangs, then the cloud comes back, then Neutron hangs
for a while, then comes back — against the real devcloud, through two fault proxies
(tests/integration/faultproxy.py): one in front of Keystone (the auth URL), one in front
of Neutron. A black hole accepts connections and never answers: only the time-outs end
the wait. Each service runs as a real process; its stderr must show one line per failed
try, never a traceback, and it must recover by itself.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faultproxy import FaultProxy, faulty_clouds_yaml
from test_apply import NOW, World

pytestmark = pytest.mark.devcloud

KEYSTONE = ("127.0.0.1", 15000)
NEUTRON = ("127.0.0.1", 19696)
FAULTY = "devcloud-faulty"
REPO = Path(__file__).resolve().parents[2]
# the head of enforce's pass summary in Chinese, the language the services run in
PASS_LINE = "Enforce："
BOUND = 120.0  # seconds for a service to notice a change (2 s time-outs, 2 s interval)


@pytest.fixture
def proxies(tmp_path: Path, devcloud: Any) -> Iterator[tuple[FaultProxy, FaultProxy, World]]:
    ks, nt = FaultProxy(KEYSTONE), FaultProxy(NEUTRON)
    clouds = faulty_clouds_yaml(
        devcloud.clouds_yaml, tmp_path / "clouds.yaml", nt.url, keystone_url=ks.url
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    mp.delenv("OS_CLOUD", raising=False)
    w = World(tmp_path, {"OS_CLIENT_CONFIG_FILE": str(clouds)}, cloud=FAULTY)
    try:
        yield ks, nt, w
    finally:
        ks.close()
        nt.close()
        w.cleanup()
        mp.undo()


class Service:
    """A cgcloud process with its stdout/stderr in files."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str):
        self.out, self.err = tmp / "stdout", tmp / "stderr"
        full = {k: v for k, v in os.environ.items() if k != "OS_CLOUD"}
        full.update(env, PYTHONPATH=str(REPO), CGCLOUD_LANG="zh")
        with self.out.open("w") as o, self.err.open("w") as e:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cgcloud", *args], stdout=o, stderr=e, env=full, cwd=tmp
            )

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: str, check: Callable[[], bool], bound: float = BOUND) -> None:
        deadline = time.monotonic() + bound
        while not check():
            assert self.proc.poll() is None, f"died ({self.proc.returncode}): {self.stderr()}"
            assert time.monotonic() < deadline, f"no {what} in {bound} s: {self.stderr()}"
            time.sleep(0.5)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    for line in text.splitlines():
        assert not line.startswith("  File "), text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(port: int) -> str:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/metrics")
        return c.getresponse().read().decode()
    except OSError:
        return ""


def test_exporter_started_against_a_hung_cloud_recovers_by_itself(
    tmp_path: Path, proxies: tuple[FaultProxy, FaultProxy, World]
) -> None:
    ks, nt, w = proxies
    ks.blackhole()
    port = _free_port()
    svc = Service(
        tmp_path,
        w.env,
        "exporter",
        str(w.repo),
        "--cloud",
        FAULTY,
        "--listen",
        f"127.0.0.1:{port}",
        "--refresh",
        "2",
        "--timeout",
        "2",
        "--now",
        NOW,
    )
    up = f'cgcloud_cloud_up{{cloud="{FAULTY}"}}'
    try:
        svc.wait_for("cloud_up 0", lambda: f"{up} 0.0" in _metrics(port))
        assert "identity" in svc.stderr() and "秒后重试" in svc.stderr()
        ks.passthrough()
        svc.wait_for("cloud_up 1", lambda: f"{up} 1.0" in _metrics(port))
        assert "刷新恢复正常" in svc.stderr()
        nt.blackhole()  # Neutron hangs later on
        svc.wait_for("cloud_up 0 again", lambda: f"{up} 0.0" in _metrics(port))
        assert "network" in svc.stderr()
        nt.passthrough()
        svc.wait_for("cloud_up 1 again", lambda: f"{up} 1.0" in _metrics(port))
    finally:
        code = svc.stop()
    assert code in (0, -signal.SIGTERM), svc.stderr()
    _no_traceback(svc.stderr())


def test_enforce_watch_started_against_a_hung_cloud_recovers_by_itself(
    tmp_path: Path, proxies: tuple[FaultProxy, FaultProxy, World]
) -> None:
    ks, nt, w = proxies
    r = w.cli("--cloud", "devcloud", "apply", "--yes", "--audit-log", str(w.audit))
    assert r.exit_code == 0, r.output  # the system exists: a pass has nothing to fail on
    ks.blackhole()
    svc = Service(
        tmp_path,
        w.env,
        "enforce",
        str(w.repo),
        "--cloud",
        FAULTY,
        "--watch",
        "--interval",
        "2",
        "--timeout",
        "2",
        "--now",
        NOW,
        "--records",
        str(tmp_path / "records"),
        "--audit-log",
        str(w.audit),
        "--textfile",
        str(tmp_path / "enforce.prom"),
    )
    prom = tmp_path / "enforce.prom"
    ok = f'cgcloud_last_run_success{{command="enforce",cloud="{FAULTY}"}}'
    try:
        svc.wait_for("a failed try", lambda: "秒后重试" in svc.stderr())
        assert "identity" in svc.stderr()
        # the down cloud is a failed run for node-exporter's textfile collector
        svc.wait_for(
            "a failed run in the textfile",
            lambda: prom.exists() and f"{ok} 0.0" in prom.read_text(),
        )
        ks.passthrough()
        svc.wait_for("a pass", lambda: PASS_LINE in svc.stdout())
        assert "已取得租约" in svc.stderr()
        svc.wait_for("a good run in the textfile", lambda: f"{ok} 1.0" in prom.read_text())
        passes = svc.stdout().count(PASS_LINE)
        nt.blackhole()
        svc.wait_for("a failed pass", lambda: "network" in svc.stderr())
        nt.passthrough()
        svc.wait_for("a pass after", lambda: svc.stdout().count(PASS_LINE) > passes + 1)
        assert "失败" not in svc.stdout() and "failed" not in svc.stdout().replace(
            "0 failed", ""
        ), svc.stdout()
    finally:
        code = svc.stop()
    assert code == 0, svc.stderr()
    _no_traceback(svc.stderr())
    assert "已停止" in svc.stderr()
    # the watch lease is gone: a second watch would take it at once
    assert w.engine.lock_holder("cgcloud-enforce-watch") is None

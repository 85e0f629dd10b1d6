"""The exporter's exposition passes `promtool check metrics` (names, units, help, types),
with the tier, server and volume families filled from the memory engine."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from cgcloud import clock, desired
from cgcloud import exporter as ex
from cgcloud.engines.memory import MemoryEngine
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
NOW = clock.now_local("2027-01-15")


def _exposition() -> bytes:
    state = desired.compile(validate([POLICIES], NOW).repo, NOW)
    eng = MemoryEngine()
    pid = eng.add_project(SYSTEM, [desired.MANAGED_TAG, desired.SYSTEM_TAG + SYSTEM]).id
    db = eng.add_server(pid, "db", "172.21.1.5", disk_gb=100, at=NOW - timedelta(days=40))
    eng.set_power(db.id, False, NOW - timedelta(days=9))
    eng.add_volume(pid, 300, db.id, "db-data", tier="high-speed", at=NOW - timedelta(days=60))
    return ex.render(ex.compute(ex.Inputs(now=NOW, state=state, view=ex.read_cloud(eng, state))))


def test_exporter_exposition_passes_promtool(promtool: str) -> None:
    text = _exposition()
    for name in (
        b"cgcloud_used_disk_tier_bytes",
        b"cgcloud_server_powered_off_seconds",
        b"cgcloud_volume_last_used_timestamp_seconds",
    ):
        assert name in text
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert r.returncode == 0 and not r.stdout.strip(), (r.stdout + r.stderr).decode()


def test_promtool_catches_a_badly_named_metric(promtool: str) -> None:
    bad = (
        b"# HELP cgcloud_x_total a gauge named like a counter\n"
        b"# TYPE cgcloud_x_total gauge\ncgcloud_x_total 1\n"
    )
    r = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True)
    assert r.returncode != 0 and b"counter" in r.stdout + r.stderr

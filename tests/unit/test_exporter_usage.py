"""Disk per tier, servers' power and volumes' "last used" evidence (第十八条), end to end
on the memory engine (its read_usage → read_cloud → compute), and the OpenStack engine's
parsing of Nova/Cinder list items (pure: the devcloud test reads the real APIs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cgcloud import clock, desired
from cgcloud import exporter as ex
from cgcloud.engines.memory import MemoryEngine
from cgcloud.engines.openstack.usage import parse_time, server_power, volume_use
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
GIB = 1024**3
NOW = clock.now_local("2027-01-15")


def _samples(fams: list[Any], name: str) -> dict[tuple[str, ...], float]:
    out = {}
    for f in fams:
        for s in f.samples:
            if s.name == name:
                out[tuple(s.labels.get(k, "") for k in _KEYS[name])] = s.value
    return out


_SERVER = ("server", "shutdown_form")
_VOLUME = ("volume", "tier")
_KEYS = {
    "cgcloud_approved_disk_tier_bytes": ("system", "tier"),
    "cgcloud_used_disk_tier_bytes": ("system", "tier"),
    "cgcloud_approved_disk_bytes": ("system",),
    "cgcloud_used_disk_bytes": ("system",),
    "cgcloud_server_powered_on": _SERVER,
    "cgcloud_server_power_changed_timestamp_seconds": _SERVER,
    "cgcloud_server_powered_off_seconds": _SERVER,
    "cgcloud_volume_size_bytes": _VOLUME,
    "cgcloud_volume_attached_servers": _VOLUME,
    "cgcloud_volume_in_use": _VOLUME,
    "cgcloud_volume_last_used_timestamp_seconds": _VOLUME,
    "cgcloud_volume_idle_seconds": _VOLUME,
}


def _cloud() -> tuple[MemoryEngine, desired.DesiredState]:
    v = validate([POLICIES], NOW)
    state = desired.compile(v.repo, NOW)
    eng = MemoryEngine()
    pid = eng.add_project(
        SYSTEM, [desired.MANAGED_TAG, desired.SYSTEM_TAG + SYSTEM]
    ).id  # managed: its servers and volumes get series
    other = eng.add_project("hand-made").id  # not cgcloud's: no series
    web = eng.add_server(pid, "web", "172.20.1.5", disk_gb=100, at=NOW - timedelta(days=40))
    db = eng.add_server(pid, "db", "172.21.1.5", disk_gb=100, at=NOW - timedelta(days=40))
    eng.set_power(db.id, False, NOW - timedelta(days=9))
    eng.add_server(other, "x", "10.9.9.9", disk_gb=50)
    eng.add_volume(pid, 500, web.id, "hot", tier="high-speed", at=NOW - timedelta(days=60))
    eng.add_volume(pid, 300, db.id, "db-data", tier="high-speed", at=NOW - timedelta(days=60))
    cold = eng.add_volume(
        pid, 200, web.id, "archive", tier="high-speed", at=NOW - timedelta(days=90)
    )
    eng.detach_volume(cold.id, NOW - timedelta(days=45))
    eng.add_volume(pid, 1000, None, "files", tier="standard")  # no date known
    eng.add_volume(other, 7, None, "theirs", tier="high-speed")
    return eng, state


def test_memory_engine_reads_tiers_power_and_attachments() -> None:
    eng, _state = _cloud()
    actual = eng.read()
    before = eng.requests
    u = eng.read_usage(actual)
    assert eng.requests - before == 3  # floating IPs, volumes, servers: one list each
    pid = next(p.id for p in eng.read_projects() if p.name == SYSTEM)
    assert u.volume_gb_by_tier[pid] == {"high-speed": 1000, "standard": 1000}
    assert u.volume_gb[pid] == 2000
    db = next(s for s in u.servers if s.name == "db")
    assert (db.powered_on, db.status, db.since) == (False, "SHUTOFF", NOW - timedelta(days=9))
    archive = next(v for v in u.volumes if v.name == "archive")
    assert (archive.tier, archive.server_ids, archive.updated_at) == (
        "high-speed",
        [],
        NOW - timedelta(days=45),
    )


def test_disk_per_tier_sums_to_the_total_metric() -> None:
    eng, state = _cloud()
    fams = ex.compute(ex.Inputs(now=NOW, state=state, view=ex.read_cloud(eng, state)))
    appr = _samples(fams, "cgcloud_approved_disk_tier_bytes")
    used = _samples(fams, "cgcloud_used_disk_tier_bytes")
    # the form: 5 servers × 100 GB system disks, 2,000 GB high-speed, 10,000 GB standard
    assert appr[(SYSTEM, "high-speed")] == 2000 * GIB
    assert appr[(SYSTEM, "standard")] == 10000 * GIB
    assert appr[(SYSTEM, "system_disk")] == 500 * GIB
    assert used[(SYSTEM, "high-speed")] == 1000 * GIB
    assert used[(SYSTEM, "standard")] == 1000 * GIB
    assert used[(SYSTEM, "system_disk")] == 200 * GIB  # web and db; "x" is not ours
    total_a = _samples(fams, "cgcloud_approved_disk_bytes")[(SYSTEM,)]
    total_u = _samples(fams, "cgcloud_used_disk_bytes")[(SYSTEM,)]
    assert sum(v for k, v in appr.items() if k[0] == SYSTEM) == total_a
    assert sum(v for k, v in used.items() if k[0] == SYSTEM) == total_u


def test_server_power_state_since_and_off_seconds() -> None:
    eng, state = _cloud()
    fams = ex.compute(ex.Inputs(now=NOW, state=state, view=ex.read_cloud(eng, state)))
    on = _samples(fams, "cgcloud_server_powered_on")
    assert on == {("web", ""): 1, ("db", ""): 0}  # the hand-made project's server: none
    since = _samples(fams, "cgcloud_server_power_changed_timestamp_seconds")
    assert since[("db", "")] == (NOW - timedelta(days=9)).timestamp()
    off = _samples(fams, "cgcloud_server_powered_off_seconds")
    assert off == {("web", ""): 0, ("db", ""): 9 * 86400}


def test_a_decommissioned_server_carries_its_notice() -> None:
    eng, state = _cloud()
    db = next(s for s in eng.state.servers.values() if s.name == "db")
    db.metadata["cgcloud:shutdown"] = "GT-2027-0001"
    fams = ex.compute(ex.Inputs(now=NOW, state=state, view=ex.read_cloud(eng, state)))
    assert _samples(fams, "cgcloud_server_powered_on")[("db", "GT-2027-0001")] == 0


def test_volume_last_used_evidence() -> None:
    eng, state = _cloud()
    fams = ex.compute(ex.Inputs(now=NOW, state=state, view=ex.read_cloud(eng, state)))
    last = _samples(fams, "cgcloud_volume_last_used_timestamp_seconds")
    idle = _samples(fams, "cgcloud_volume_idle_seconds")
    use = _samples(fams, "cgcloud_volume_in_use")
    att = _samples(fams, "cgcloud_volume_attached_servers")
    hs = "high-speed"
    assert last[("hot", hs)] == NOW.timestamp() and idle[("hot", hs)] == 0  # running server
    assert (use[("hot", hs)], att[("hot", hs)]) == (1, 1)
    # attached to db, off for 9 days (since is later than the attachment)
    assert idle[("db-data", hs)] == 9 * 86400 and (use[("db-data", hs)], att[("db-data", hs)]) == (
        0,
        1,
    )
    assert idle[("archive", hs)] == 45 * 86400 and att[("archive", hs)] == 0  # detached
    assert ("files", "standard") not in last  # no date: no evidence, never called cold
    assert _samples(fams, "cgcloud_volume_size_bytes")[("files", "standard")] == 1000 * GIB
    assert ("theirs", hs) not in _samples(fams, "cgcloud_volume_size_bytes")


def test_openstack_items_are_read_as_the_api_gives_them() -> None:
    vol = volume_use(
        {
            "id": "v1",
            "name": "data",
            "os-vol-tenant-attr:tenant_id": "p1",
            "volume_type": "high-speed",
            "size": 20,
            "updated_at": "2027-01-10T02:00:00.000000",  # Cinder: no zone, UTC
            "attachments": [
                {"server_id": "s1", "attached_at": "2027-01-02T03:04:05.000000"},
                {"server_id": "s2", "attached_at": "2027-01-03T03:04:05.000000"},
            ],
        }
    )
    assert (vol.tier, vol.size_gb, vol.server_ids) == ("high-speed", 20, ["s1", "s2"])
    assert vol.attached_at == datetime(2027, 1, 3, 3, 4, 5, tzinfo=UTC)
    assert vol.updated_at == datetime(2027, 1, 10, 2, tzinfo=UTC)
    assert volume_use({"id": "v2", "volume_type": None}).tier == ""
    srv = server_power(
        {
            "id": "s1",
            "name": "db",
            "tenant_id": "p1",
            "status": "SHUTOFF",
            "OS-EXT-STS:power_state": 4,
            "updated": "2027-01-05T00:00:00Z",  # Nova's name (Cinder's: updated_at)
            "metadata": {
                "cgcloud:shutdown": "GT-1",
                "cgcloud:poweroff": "2027-01-06T08:00:00+08:00",
            },
        }
    )
    assert (srv.powered_on, srv.shutdown_form) == (False, "GT-1")
    assert srv.since == datetime(2027, 1, 6, tzinfo=UTC)  # the later of the two
    assert server_power({"id": "s2", "OS-EXT-STS:power_state": 1}).powered_on
    assert parse_time("garbage") is None and parse_time(None) is None


def test_volume_gb_without_a_tier_still_counts_under_the_empty_tier() -> None:
    eng, state = _cloud()
    view = ex.read_cloud(eng, state)
    view.volume_gb_by_tier = {}  # an engine that reads sizes but not types
    fams = ex.compute(ex.Inputs(now=NOW, state=state, view=view))
    used = _samples(fams, "cgcloud_used_disk_tier_bytes")
    assert used[(SYSTEM, "")] == 2000 * GIB
    total = _samples(fams, "cgcloud_used_disk_bytes")[(SYSTEM,)]
    assert sum(v for k, v in used.items() if k[0] == SYSTEM) == total

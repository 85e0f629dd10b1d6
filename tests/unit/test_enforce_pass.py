"""The enforce pass and the watch loop (cgcloud/enforce_pass.py) on the in-memory engine.

The same lifecycle the devcloud tests walk (tests/integration/test_enforce_lifecycle.py),
here in milliseconds: windows open and close, a decommission powers off, keeps seven
full days and deletes, the last host gone reclaims the system; failures, the delete
guard and a held lock are reported as the CLI's exit codes expect.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cgcloud import clock, desired, enforce, model
from cgcloud import plan as planner
from cgcloud.enforce_pass import PassError, PassResult, Watch, run_pass
from cgcloud.engines.memory import MemoryEngine
from cgcloud.findings import has_errors
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NEW, OLD = "智慧城管综合平台", "旧版数字城管系统"
NOTICE = "GT-2026-0012"


class World:
    def __init__(self, tmp: Path):
        self.repo = tmp / "policies"
        shutil.copytree(POLICIES, self.repo)
        self.records = tmp / "records"
        self.engine = MemoryEngine("mem")

    def load(self, when: datetime) -> model.Repository:
        v = validate([self.repo], when)
        if has_errors(v.findings):
            raise PassError("invalid", 1)
        return v.repo

    def apply(self, now: str) -> None:
        when = clock.now_local(now)
        state = desired.compile(self.load(when), when, self.engine.quota_room)
        actual = self.engine.read(state)
        plan = planner.diff(state, actual, cloud="mem")
        outcome = self.engine.apply(state, plan, actual)
        assert outcome.ok, [s.error for s in outcome.failed]
        self.engine.record_fingerprints(plan.fingerprints, outcome)

    def run(self, now: str, max_deletes: int = 20) -> PassResult:
        return run_pass(
            self.engine,
            self.load,
            clock.now_local(now),
            max_deletes=max_deletes,
            records=self.records,
        )

    def project(self, system: str) -> str:
        return next(
            x.id
            for x in self.engine.state.projects.values()
            if desired.SYSTEM_TAG + system in x.tags
        )

    def descriptions(self, system: str) -> list[str]:
        pid = self.project(system)
        groups = {g.id for g in self.engine.state.groups.values() if g.project_id == pid}
        return [r.description for r in self.engine.state.rules.values() if r.group_id in groups]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _verbs(result: PassResult) -> list[tuple[str, str]]:
    return sorted((a.verb, a.status) for a in result.actions if a.verb != "report")


def test_a_window_that_ends_is_closed_and_a_settled_system_is_not_read(world: World) -> None:
    world.apply("2027-01-15T10:00")
    until = " until 2027-01-31"
    assert [d for d in world.descriptions(NEW) if d.endswith(until)]
    quiet = world.run("2027-01-20T10:00")
    assert _verbs(quiet) == [] and quiet.settled >= 1
    closing = world.run("2027-02-01T00:00:00")
    assert {v for v, _ in _verbs(closing)} == {"close"}
    assert all(s == "done" for _, s in _verbs(closing))
    assert not [d for d in world.descriptions(NEW) if d.endswith(until)]
    assert [d for d in world.descriptions(NEW) if d.endswith(" until 2027-12-31")]
    assert _verbs(world.run("2027-02-01T00:00:05")) == []


def test_decommission_keeps_seven_full_days_then_deletes_and_records(world: World) -> None:
    world.apply("2026-12-10T10:00")
    eng = world.engine
    pid = world.project(OLD)
    h21 = eng.add_server(pid, "h21", "172.20.4.21", vcpus=4, ram_mb=8192, disk_gb=100)
    h22 = eng.add_server(pid, "h22", "172.20.4.22", vcpus=4, ram_mb=8192, disk_gb=100)
    h23 = eng.add_server(pid, "h23", "172.20.4.23")  # not on the notice
    v21 = eng.add_volume(pid, 10, h21.id)
    assert _verbs(world.run("2026-12-14T23:59:59")) == []
    off = world.run("2026-12-15T10:00")
    assert _verbs(off) == [("poweroff", "done"), ("poweroff", "done")]
    servers = eng.state.servers
    assert servers[h21.id].status == servers[h22.id].status == "SHUTOFF"
    assert servers[h23.id].status == "ACTIVE"
    assert servers[h21.id].metadata[enforce.POWEROFF_KEY] == "2026-12-15T10:00:00+08:00"
    assert eng.state.volumes[v21.id].metadata[enforce.SHUTDOWN_KEY] == NOTICE
    assert not [v for v, _ in _verbs(world.run("2026-12-22T23:59:59")) if v == "delete"]
    gone = world.run("2026-12-23T00:00:00")
    assert [v for v, s in _verbs(gone) if s == "done"].count("delete") == 2
    assert set(servers) == {h23.id} and v21.id not in eng.state.volumes
    rec = json.loads(next(world.records.glob(f"*{NOTICE}.json")).read_text(encoding="utf-8"))
    assert rec["totals"]["hosts"] == 2 and rec["totals"]["volume_gb"] == 10
    assert _verbs(world.run("2026-12-24T10:00")) == []


def test_a_failed_step_fails_its_notice_and_the_rerun_completes(world: World) -> None:
    world.apply("2026-12-10T10:00")
    eng = world.engine
    pid = world.project(OLD)
    eng.add_server(pid, "h21", "172.20.4.21")
    eng.add_server(pid, "h22", "172.20.4.22")
    eng.fail("poweroff", "server", message="nova is down")
    result = world.run("2026-12-15T10:00")
    assert [a.error for a in result.failed][:1] == ["poweroff server: nova is down"]
    assert all(a.status == "failed" for a in result.actions if a.verb == "poweroff")
    again = world.run("2026-12-15T11:00")
    assert [s for v, s in _verbs(again) if v == "poweroff"] == ["done", "done"]


def test_the_delete_guard_blocks_deletions_only(world: World) -> None:
    world.apply("2026-12-10T10:00")
    pid = world.project(OLD)
    for ip in ("172.20.4.21", "172.20.4.22"):
        world.engine.add_server(pid, ip, ip)
    world.run("2026-12-15T10:00")
    blocked = world.run("2026-12-23T00:00:00", max_deletes=1)
    guarded = [s for v, s in _verbs(blocked) if v in ("delete", "reclaim")]
    assert guarded.count("blocked") == blocked.blocked == len(guarded) >= 2
    assert len(world.engine.state.servers) == 2


def test_a_held_lock_stops_the_pass_before_it_reads(world: World) -> None:
    other = MemoryEngine("mem", state=world.engine.state, actor="someone else")
    other.acquire_lock()
    before = world.engine.requests
    with pytest.raises(PassError) as err:
        world.run("2027-01-15T10:00")
    assert err.value.code == 4 and "someone else" in str(err.value)
    assert world.engine.requests - before == 1  # the lock attempt only


def test_an_invalid_repository_changes_nothing_and_releases_the_lock(world: World) -> None:
    world.apply("2027-01-15T10:00")
    (world.repo / NEW / "network-policy.yaml").write_text("kind: [", encoding="utf-8")
    rules = dict(world.engine.state.rules)
    with pytest.raises(PassError):
        world.run("2027-02-01T00:00:00")
    assert world.engine.state.rules == rules
    assert world.engine.lock_holder() is None


def test_the_watch_loop_runs_passes_until_stopped(world: World) -> None:
    world.apply("2027-01-15T10:00")
    stop = threading.Event()
    times = iter(["2027-01-20T10:00", "2027-02-01T00:00:00", "2027-02-01T00:00:05"])
    seen: list[list[tuple[str, str]]] = []

    def one(when: datetime) -> datetime:
        result = world.run(next(times))
        seen.append(_verbs(result))
        if len(seen) == 3:
            stop.set()
        return when + timedelta(seconds=1)

    Watch(one, lambda: clock.now_local("2027-01-20T10:00"), stop, wait=lambda s: False).loop()
    assert [sorted({v for v, _ in x}) for x in seen] == [[], ["close"], []]

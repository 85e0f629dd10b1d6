"""One decommission lifecycle: enforce, upcoming, explain and the exporter agree.

The shipped notice GT-2026-0012 (shutdown_date 2026-12-15, hosts .21 and .22) is
walked through its life on the in-memory engine. At every step the four readers
ask ``cgcloud.lifecycle`` and must give the same stage and the same dates: kept
through 2026-12-22, deleted from 2026-12-23 00:00 (explain used to say 12-22).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from cgcloud import clock, desired, enforce, explain, lifecycle, model
from cgcloud import exporter as ex
from cgcloud import plan as planner
from cgcloud.enforce_pass import run_pass
from cgcloud.engines.memory import MemoryEngine
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
OLD, NOTICE = "旧版数字城管系统", "GT-2026-0012"
DELETE_FROM = "2026-12-23T00:00:00+08:00"
STEPS = [  # (now, the stage the four must agree on before enforce acts)
    ("2026-12-10T10:00", "scheduled"),
    ("2026-12-14T23:59:59", "scheduled"),
    ("2026-12-15T10:00", "power_off_due"),
    ("2026-12-20T10:00", "powered_off"),
    ("2026-12-22T23:59:59", "powered_off"),
    ("2026-12-23T00:00:00", "deletion_due"),
    ("2026-12-24T10:00", "reclaimed"),
]


def T(text: str) -> datetime:
    return clock.now_local(text)


@pytest.fixture
def engine(tmp_path: Path) -> tuple[MemoryEngine, Path]:
    repo = tmp_path / "policies"
    shutil.copytree(POLICIES, repo)
    eng = MemoryEngine("mem")
    when = T("2026-12-10T10:00")
    state = desired.compile(validate([repo], when).repo, when, eng.quota_room)
    actual = eng.read(state)
    plan = planner.diff(state, actual)
    assert eng.apply(state, plan, actual).ok
    pid = next(x.id for x in eng.state.projects.values() if desired.SYSTEM_TAG + OLD in x.tags)
    for ip in ("172.20.4.21", "172.20.4.22"):
        eng.add_server(pid, f"host-{ip}", ip, vcpus=4, ram_mb=8192, disk_gb=100)
    return eng, repo


def test_enforce_upcoming_explain_and_exporter_give_the_same_stage_and_dates(
    engine: tuple[MemoryEngine, Path], tmp_path: Path
) -> None:
    eng, repo_dir = engine
    for now, stage in STEPS:
        when = T(now)
        repo = validate([repo_dir], when).repo
        state = desired.compile(repo, when)
        # the exporter: the stage metric's value, from the cloud as it is
        view = ex.read_cloud(eng, state)
        inp = ex.Inputs(now=when, repo=repo, view=view, state=state)
        [metric] = [x for x in ex.decommissions(inp) if x.form == NOTICE]
        assert metric.stage == stage, now
        # explain: from the forms alone (no cloud), the same dates and a stage that
        # agrees until the cloud's marks are needed to tell more
        [told] = [
            x
            for x in json.loads(explain.explain(repo, when, "json"))["shutdown_notices"]
            if x["id"] == NOTICE
        ]
        assert (told["kept_until"], told["earliest_deletion"]) == ("2026-12-22", "2026-12-23")
        form_stage = "power_off_due" if stage in lifecycle.STAGES[2:] else stage
        assert told["stage"] == form_stage, now
        # upcoming, with the marks read from the cloud as `cgcloud upcoming --cloud` does
        marks = enforce.marks(
            eng.read_inventory(eng.read(None, network_only=True, scope=set()), set())
        )
        deletes = {
            e.at
            for e in enforce.upcoming(repo, when, 14, marks)
            if e.verb == "delete" and e.form == NOTICE
        }
        if stage in ("scheduled", "power_off_due", "powered_off"):
            assert deletes == {T(DELETE_FROM)}, now
        if metric.deletion_due is not None:
            assert metric.deletion_due == T(DELETE_FROM)
        # enforce: what the pass does is what the stage says is due
        result = run_pass(eng, _fixed(repo), when, max_deletes=20, records=tmp_path / "r")
        verbs = sorted({a.verb for a in result.actions if a.form == NOTICE and a.acts})
        # (the last listed host deleted, the system has no host left: reclaimed at once)
        assert verbs == {"power_off_due": ["poweroff"], "deletion_due": ["delete", "reclaim"]}.get(
            stage, []
        ), (now, verbs)
        assert all(a.status == "done" for a in result.actions if a.acts)
        if stage == "power_off_due":
            assert all(
                "保留至 2026-12-22 后删除" in a.message
                for a in result.actions
                if a.verb == "poweroff"
            )


def _fixed(repo: model.Repository) -> Callable[[datetime], model.Repository]:
    return lambda when: repo


def test_the_rule_of_seven_full_days() -> None:
    for off in ("2026-12-15T00:00:01", "2026-12-15T10:00", "2026-12-15T23:59:59"):
        assert lifecycle.deletion_due(T(off)) == T(DELETE_FROM)
        assert lifecycle.kept_until(T(off)).isoformat() == "2026-12-22"

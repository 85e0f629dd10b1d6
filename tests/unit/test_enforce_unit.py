"""enforce.py at its boundaries: last-day 23:59:59 vs 00:00:00, month ends, leap
years, a window ending while --watch sleeps, a power-off recorded late."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from cgcloud import clock, desired, enforce, model
from cgcloud import plan as p
from cgcloud.enforce_pass import Watch
from cgcloud.validate import load_repository

POLICIES = Path(__file__).resolve().parents[2] / "policies"
OLD = "旧版数字城管系统"
T = clock.now_local


@pytest.fixture(scope="module")
def repo() -> model.Repository:
    r, _, _ = load_repository([POLICIES])
    return r


# --------------------------------------------------------------------------- clock


@pytest.mark.parametrize(
    ("off", "due"),
    [
        ("2026-12-15T00:00:00", "2026-12-23T00:00:00"),
        ("2026-12-15T23:59:59", "2026-12-23T00:00:00"),  # the day of power-off never counts
        ("2026-12-31T23:59:59", "2027-01-08T00:00:00"),  # across a year end
        ("2028-02-25T10:00", "2028-03-04T00:00:00"),  # leap year: 29 Feb is one of the seven
        ("2027-02-25T10:00", "2027-03-05T00:00:00"),
        ("2026-12-14T17:00:00+00:00", "2026-12-23T00:00:00"),  # 01:00 local on 12-15
    ],
)
def test_seven_full_local_days_after_the_recorded_power_off(off: str, due: str) -> None:
    assert enforce.delete_due(T(off)) == T(due)


# --------------------------------------------------------------------------- rules


def _actual_from(state: desired.DesiredState) -> p.ActualState:
    """The cloud as apply would have left it for ``state``."""
    a = p.ActualState()
    for i, proj in enumerate(state.projects):
        a.projects.append(p.AProject(f"p{i}", proj.name, list(proj.tags)))
    pid = {x.name: x.id for x in a.projects}
    for g in state.groups:
        a.groups.append(p.AGroup(f"g-{g.key}", g.name, pid[g.system], g.tags, g.description))
    for i, r in enumerate(state.rules):
        if r.remote_placeholder:
            continue
        a.rules.append(
            p.ARule(
                f"r{i}",
                f"g-{r.group}",
                r.direction,
                r.ethertype,
                r.protocol,
                r.port_min,
                r.port_max,
                r.remote_cidr,
                None,
                r.description,
            )
        )
    for aproj in a.projects:
        want = state.project(aproj.name)
        assert want
        a.quotas[aproj.id] = want.quotas.flat()
    return a


def _actions(repo: model.Repository, before: str, now: str) -> list[enforce.Action]:
    actual = _actual_from(desired.compile(repo, T(before)))
    state = desired.compile(repo, T(now))
    plan = p.diff(state, actual)
    _, actions = enforce.rule_actions(plan, actual, repo, T(now))
    return actions


def test_high_risk_rules_stay_through_the_last_second_of_their_last_day(repo) -> None:
    assert _actions(repo, "2027-01-15T10:00", "2027-01-31T23:59:59") == []


def test_high_risk_rules_close_at_midnight_after_their_last_day(repo) -> None:
    actions = _actions(repo, "2027-01-15T10:00", "2027-02-01T00:00:00")
    msgs = [a.message for a in actions]
    assert {a.verb for a in actions} == {"close"}
    assert "关闭 WL-2026-0031 第10行 TCP3306 (高危端口使用期已于 2027-01-31 结束)" in msgs
    assert "关闭 WL-2026-0031 第7行 TCP22 (高危端口使用期已于 2027-01-31 结束)" in msgs
    assert not [m for m in msgs if "普通端口" in m]  # the normal rows run all year


def test_rules_open_at_midnight_of_their_first_day(repo) -> None:
    state = desired.compile(repo, T("2027-01-01T00:00:00"))
    actual = _actual_from(state)
    # a cloud where nothing high-risk exists yet, as on 2026-12-31 23:59:59
    actual.rules = [r for r in actual.rules if not r.description.endswith("until 2027-01-31")]
    plan = p.diff(state, actual)
    sub, actions = enforce.rule_actions(plan, actual, repo, T("2027-01-01T00:00:00"))
    assert {a.verb for a in actions} == {"open"}
    assert any(
        a.message.startswith(
            "开放 WL-2026-0031 第7行 TCP22 (高危端口使用期 2027-01-01 至 2027-01-31)"
        )
        for a in actions
    )
    assert {c.kind for c in sub.changes} <= {"rule", "quota"}


def test_drift_is_not_enforce_business(repo) -> None:
    state = desired.compile(repo, T("2027-01-15T10:00"))
    actual = _actual_from(state)
    gid = actual.rules[0].group_id
    actual.rules.append(p.ARule("hand", gid, "ingress", "IPv4", "tcp", 23, 23, "0.0.0.0/0"))
    plan = p.diff(state, actual)
    assert any(c.id == "hand" for c in plan.changes)
    sub, actions = enforce.rule_actions(plan, actual, repo, T("2027-01-15T10:00"))
    assert actions == [] and sub.changes == []


def _settle(state: desired.DesiredState, actual: p.ActualState) -> None:
    """Record on the projects the fingerprints a carried-out plan records."""
    new = {f.system: f.new for f in p.diff(state, actual).fingerprints}
    for proj in actual.projects:
        system = p._tag_value(proj.tags, desired.SYSTEM_TAG)
        if system in new:
            proj.fingerprints = [new[system]]


def _fps(repo: model.Repository, now: str, actual: p.ActualState) -> dict[str, str | None]:
    state = desired.compile(repo, T(now))
    return p.fingerprints(state, p.placeholder_addresses(actual.ports, actual.projects))


def test_a_settled_system_is_skipped_until_a_window_ends(repo) -> None:
    actual = _actual_from(desired.compile(repo, T("2027-01-15T10:00")))
    _settle(desired.compile(repo, T("2027-01-15T10:00")), actual)
    system = next(iter(p.managed_projects_by_id(actual.projects).values()))
    assert p.settled(_fps(repo, "2027-01-31T23:59:59", actual), actual.projects) == {system}
    # 00:00 after the last day: the wanted rules changed, so the system is read again …
    assert p.settled(_fps(repo, "2027-02-01T00:00:00", actual), actual.projects) == set()
    feb = desired.compile(repo, T("2027-02-01T00:00:00"))
    actual.scope = {system}
    plan = p.diff(feb, actual)
    sub, actions = enforce.rule_actions(plan, actual, repo, T("2027-02-01T00:00:00"))
    assert actions and {a.verb for a in actions} == {"close"}
    # the stale fingerprint goes along: the engine removes it before it changes a rule
    assert sub.fingerprints == plan.fingerprints and plan.fingerprints[0].old
    # … and once the closes are made, its project holds what the forms want: record it
    [fp] = enforce.converged(plan, sub)
    assert fp.new == _fps(repo, "2027-02-01T00:00:00", actual)[system]


def test_no_fingerprint_while_apply_has_work_left_in_the_system(repo) -> None:
    state = desired.compile(repo, T("2027-01-15T10:00"))
    actual = _actual_from(state)
    actual.rules.append(
        p.ARule("hand", actual.rules[0].group_id, "ingress", "IPv4", "tcp", 23, 23, "0.0.0.0/0")
    )
    plan = p.diff(state, actual)
    sub, _ = enforce.rule_actions(plan, actual, repo, T("2027-01-15T10:00"))
    assert plan.fingerprints and enforce.converged(plan, sub) == []
    actual.rules.pop()
    plan = p.diff(state, actual)
    assert [f.system for f in enforce.converged(plan, p.Plan(now=""))] == [
        f.system for f in plan.fingerprints
    ]


# --------------------------------------------------------------------------- decommission


def _inventory(status: str = "ACTIVE", meta: dict[str, str] | None = None) -> enforce.Inventory:
    proj = p.AProject("p-old", OLD, [desired.MANAGED_TAG, desired.SYSTEM_TAG + OLD])
    servers = [
        enforce.Server(
            f"s{i}",
            f"host{i}",
            "p-old",
            status,
            [ip],
            dict(meta or {}),
            4,
            8192,
            100,
            "cg-4c8g100d",
        )
        for i, ip in enumerate(["172.20.4.21", "172.20.4.22", "172.20.4.23"])
    ]
    vols = [enforce.Volume("v0", "data", "p-old", 10, "in-use", ["s0"])]
    return enforce.Inventory(projects=[proj], servers=servers, volumes=vols)


def _verbs(repo: model.Repository, inv: enforce.Inventory, now: str) -> list[tuple[str, str]]:
    return [(a.verb, a.host) for a in enforce.decommission_actions(repo, inv, T(now))]


def test_nothing_before_the_shutdown_date(repo) -> None:
    assert _verbs(repo, _inventory(), "2026-12-14T23:59:59") == []


def test_power_off_from_00_00_of_the_shutdown_date_only_listed_hosts(repo) -> None:
    assert _verbs(repo, _inventory(), "2026-12-15T00:00:00") == [
        ("poweroff", "172.20.4.21"),
        ("poweroff", "172.20.4.22"),
    ]


def test_without_the_operators_confirmation_nothing_is_touched(repo) -> None:
    notice = next(n for n in repo.shutdowns if n.system == OLD)
    object.__setattr__(notice, "data_copied", False)
    try:
        actions = enforce.decommission_actions(repo, _inventory(), T("2026-12-18T10:00"))
    finally:
        object.__setattr__(notice, "data_copied", True)
    assert [a.verb for a in actions] == ["report"]
    assert "已延迟 3 天" in actions[0].message


def test_a_power_off_recorded_late_counts_from_the_record(repo) -> None:
    meta = {enforce.SHUTDOWN_KEY: "GT-2026-0012", enforce.POWEROFF_KEY: "2026-12-18T22:00:00+08:00"}
    inv = _inventory("SHUTOFF", meta)
    inv.servers[2].metadata = {}
    inv.servers[2].status = "ACTIVE"
    assert _verbs(repo, inv, "2026-12-23T10:00") == []  # 7 days after the date, not the record
    assert _verbs(repo, inv, "2026-12-25T23:59:59") == []
    acts = enforce.decommission_actions(repo, inv, T("2026-12-26T00:00:00"))
    assert [(a.verb, a.host) for a in acts] == [
        ("delete", "172.20.4.21"),
        ("delete", "172.20.4.22"),
    ]
    assert acts[0].deletes == 2  # the server and its volume
    rec = acts[0].data["record"]
    assert (rec["vcpus"], rec["memory_mb"], rec["storage_gb"]) == (4, 8192, 110)


def test_a_host_powered_back_on_is_stopped_again_and_the_clock_is_not_restarted(repo) -> None:
    meta = {enforce.SHUTDOWN_KEY: "GT-2026-0012", enforce.POWEROFF_KEY: "2026-12-15T10:00:00+08:00"}
    inv = _inventory("SHUTOFF", meta)
    inv.servers = inv.servers[:2]
    inv.servers[1].status = "ACTIVE"
    acts = enforce.decommission_actions(repo, inv, T("2026-12-18T10:00"))
    assert [(a.verb, a.host) for a in acts] == [("repoweroff", "172.20.4.22")]
    assert "2026-12-23 起删除" in acts[0].message
    # on the due day it is deleted on schedule (reported as found running)
    acts = enforce.decommission_actions(repo, inv, T("2026-12-23T00:00:00"))
    assert [a.verb for a in acts] == ["delete", "delete", "reclaim"]
    assert "重新开机" in acts[1].message


def test_whole_system_is_reclaimed_only_when_no_host_remains(repo) -> None:
    meta = {enforce.SHUTDOWN_KEY: "GT-2026-0012", enforce.POWEROFF_KEY: "2026-12-15T10:00:00+08:00"}
    inv = _inventory("SHUTOFF", meta)
    inv.servers[2].metadata = {}  # 172.20.4.23 is not listed and stays
    inv.servers[2].status = "ACTIVE"
    verbs = [a.verb for a in enforce.decommission_actions(repo, inv, T("2026-12-23T00:00:00"))]
    assert verbs == ["delete", "delete"]


def test_a_withdrawn_notice_is_reported_never_acted_on(repo) -> None:
    inv = _inventory(
        "SHUTOFF",
        {enforce.SHUTDOWN_KEY: "GT-1999-0001", enforce.POWEROFF_KEY: "2026-01-01T10:00:00+08:00"},
    )
    acts = [a for a in enforce.decommission_actions(repo, inv, T("2026-12-01T10:00"))]
    assert acts and {a.verb for a in acts} == {"report"}


def test_lapsed_approvals_are_reported_not_deleted(repo) -> None:
    proj = p.AProject("p-old", OLD, [desired.MANAGED_TAG, desired.SYSTEM_TAG + OLD])
    assert enforce.lapsed(repo, [proj], T("2026-12-31T23:59:59")) == []
    acts = enforce.lapsed(repo, [proj], T("2027-01-01T00:00:00"))
    assert [a.verb for a in acts] == ["report"]
    assert "2026 年度资源已于 2026-12-31 到期" in acts[0].message


# --------------------------------------------------------------------------- upcoming, watch


def test_upcoming_lists_the_close_at_midnight_after_the_last_day(repo) -> None:
    events = enforce.upcoming(repo, T("2027-01-25T10:00"), 7)
    closes = [e for e in events if e.verb == "close"]
    assert closes and {e.at for e in closes} == {T("2027-02-01T00:00:00")}
    assert enforce.upcoming(repo, T("2027-01-25T10:00"), 6) == []  # 02-01 00:00 is 6 d 14 h away


def test_upcoming_shutdown_and_estimated_deletion(repo) -> None:
    events = enforce.upcoming(repo, T("2026-12-10T10:00"), 14)
    verbs = [(e.verb, e.at.date().isoformat()) for e in events if e.system == OLD]
    assert ("poweroff", "2026-12-15") in verbs and ("delete", "2026-12-23") in verbs
    assert ("lapse", "2027-01-01") not in verbs  # beyond 14 days
    marks = {"GT-2026-0012": [("172.20.4.21", T("2026-12-18T22:00"))]}
    events = enforce.upcoming(repo, T("2026-12-20T10:00"), 7, marks)
    assert [e.at for e in events if e.verb == "delete"] == [T("2026-12-26T00:00:00")]


def test_watch_wakes_at_a_window_end_that_falls_inside_its_sleep(repo) -> None:
    """--interval 3600 at 23:50 on the last day: the loop sleeps 10 minutes, not an hour."""
    now = [T("2027-01-31T23:50:00")]
    ran: list[datetime] = []
    stop = threading.Event()

    def run(when: datetime) -> datetime:
        ran.append(when)
        if len(ran) == 2:
            stop.set()
        return enforce.next_wakeup(repo, when, 3600)

    def wait(seconds: float) -> bool:
        now[0] = now[0] + __import__("datetime").timedelta(seconds=seconds)
        return False

    Watch(run, lambda: now[0], stop, wait=wait).loop()
    assert ran == [T("2027-01-31T23:50:00"), T("2027-02-01T00:00:00")]


def test_watch_survives_a_failed_pass_and_stops_on_signal() -> None:
    stop = threading.Event()
    calls: list[str] = []
    now = [T("2027-01-01T10:00")]

    def run(when: datetime) -> datetime:
        calls.append("run")
        if len(calls) == 1:
            raise RuntimeError("cloud unreachable")
        stop.set()  # SIGTERM during the second pass: it finishes, no third pass
        return when

    errors: list[Exception] = []
    Watch(
        run,
        lambda: now[0],
        stop,
        wait=lambda s: False,
        on_error=lambda exc, delay: errors.append(exc),
    ).loop()
    assert calls == ["run", "run"] and len(errors) == 1


def test_watch_backs_off_exponentially_with_jitter_and_resets_after_a_good_pass() -> None:
    """Cloud down for five passes, then up, then down again: waits grow 5, 10, 20, 40,
    capped at 60 (each up to 20 % shorter, never longer), and start over at 5."""
    import random

    from cgcloud.backoff import Backoff

    stop = threading.Event()
    outcomes = [False] * 5 + [True] + [False]
    waits: list[float] = []
    now = [T("2027-01-01T10:00")]

    def run(when: datetime) -> datetime:
        ok = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if not ok:
            raise ConnectionError("cloud down")
        return when + __import__("datetime").timedelta(seconds=600)

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] = now[0] + __import__("datetime").timedelta(seconds=seconds)
        return False

    delays: list[float] = []
    Watch(
        run,
        lambda: now[0],
        stop,
        wait=wait,
        on_error=lambda exc, delay: delays.append(delay),
        backoff=Backoff(first=5, cap=60, rng=random.Random(7)),
    ).loop()
    bases = [5, 10, 20, 40, 60, 5]
    assert len(delays) == 6
    for d, base in zip(delays, bases, strict=True):
        assert 0.8 * base <= d <= base
    assert len(set(round(d / b, 6) for d, b in zip(delays, bases, strict=True))) > 1  # jitter
    assert waits[5] == 600  # the good pass slept until its wake-up, not a back-off


def test_reclaim_record_adds_up_and_merges() -> None:
    now = T("2026-12-23T00:00:00")
    s1 = enforce.Server("a", "h1", "p", "SHUTOFF", ["172.20.4.21"], {}, 4, 8192, 100, "f")
    s2 = enforce.Server("b", "h2", "p", "SHUTOFF", ["172.20.4.22"], {}, 2, 4096, 40, "f")
    v = enforce.Volume("v", "d", "p", 10, "in-use", ["a"])
    first = enforce.reclaim_record("GT", "S", "c", [enforce.host_record(s1, [v], now, now)], now)
    rec = enforce.reclaim_record(
        "GT", "S", "c", [enforce.host_record(s2, [], now, now)], now, previous=first
    )
    assert rec["totals"] == {
        "hosts": 2,
        "vcpus": 6,
        "memory_mb": 12288,
        "storage_gb": 150,
        "system_disk_gb": 140,
        "volume_gb": 10,
    }
    md = enforce.reclaim_markdown(rec)
    assert "| **合计** | 2 台 | | **6** | **12** |" in md

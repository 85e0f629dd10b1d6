"""One contract, every engine: the same scenarios give the same plans and outcomes.

Each scenario asserts what the *core* expects of any engine (conftest.py runs it on
the in-memory engine always and on OpenStack with the devcloud): the plan of a
fresh cloud is the plan of an empty actual state; after apply the cloud holds what
was asked and the next plan is empty; drift is found and removed; a placeholder
resolves when its port appears; a failed step is reported and a re-run converges;
leases are exclusive.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_sites import PLACEHOLDER, Site

from cgcloud import desired
from cgcloud import plan as planner
from cgcloud.actual import ActualState
from cgcloud.engines.base import Engine, LockHeld


def _mine(plan: planner.Plan, system: str, *actions: str) -> list[tuple[str, str, str]]:
    """The plan's changes of ``system`` as (action, kind, name), ids left out (they
    are the cloud's own), sorted."""
    acts = actions or planner.CHANGE_ACTIONS + ("pending",)
    return sorted(
        (c.action, c.kind, c.name) for c in plan.changes if c.system == system and c.action in acts
    )


def _converge(site: Site, state: desired.DesiredState) -> tuple[planner.Plan, Any]:
    """Read, diff, apply, record fingerprints (what `cgcloud apply` does)."""
    eng = site.engine
    actual = eng.read(state)
    plan = planner.diff(state, actual, cloud=eng.cloud)
    outcome = eng.apply(state, plan, actual)
    if outcome.ok:
        eng.record_fingerprints(plan.fingerprints, outcome)
    return plan, outcome


def _project_id(eng: Engine, system: str) -> str:
    return next(x.id for x in eng.read_projects() if desired.SYSTEM_TAG + system in x.tags)


def test_engine_implements_the_protocol(site: Site) -> None:
    assert isinstance(site.engine, Engine)
    assert site.engine.name in ("memory", "openstack")


def test_a_fresh_system_gets_the_plan_of_an_empty_cloud_and_converges(site: Site) -> None:
    state = site.desired()
    eng = site.engine
    actual = eng.read(state)
    empty = ActualState(services=actual.services, volume_types=actual.volume_types)
    plan = planner.diff(state, actual, cloud=eng.cloud)
    assert _mine(plan, site.system) == _mine(planner.diff(state, empty), site.system)
    assert ("create", "project", site.system) in _mine(plan, site.system)

    outcome = eng.apply(state, plan, actual)
    assert outcome.ok, [s.error for s in outcome.failed]
    assert {(s.change.action, s.change.kind) for s in outcome.done} >= {
        ("create", "project"),
        ("create", "group"),
        ("create", "rule"),
    }
    eng.record_fingerprints(plan.fingerprints, outcome)

    after = eng.read(state)
    again = planner.diff(state, after, cloud=eng.cloud)
    # the placeholder's rules stay pending (no port yet); nothing else is left to do
    assert _mine(again, site.system, *planner.CHANGE_ACTIONS) == []
    pending = _mine(again, site.system, "pending")
    assert pending and all(PLACEHOLDER in name or kind == "binding" for _, kind, name in pending)
    wanted = {r.description for r in state.rules if not r.remote_placeholder}
    mine = {g.id for g in after.groups if g.project_id == _project_id(eng, site.system)}
    assert {r.description for r in after.rules if r.group_id in mine} == wanted
    # fingerprints are recorded only for systems without placeholders (never settled)
    fps = planner.fingerprints(state, planner.placeholder_addresses(after.ports, after.projects))
    assert fps[site.system] is not None
    assert site.system in planner.settled(fps, after.projects)


def test_drift_in_a_managed_group_is_deleted(site: Site) -> None:
    state = site.desired()
    _, outcome = _converge(site, state)
    assert outcome.ok
    eng = site.engine
    pid = _project_id(eng, site.system)
    group = next(g for g in eng.read(state).groups if g.project_id == pid and g.name != "default")
    site.add_rule_by_hand(group.id, "192.0.2.0/24")
    plan = planner.diff(state, eng.read(state), cloud=eng.cloud)
    drift = [c for c in plan.changes if c.system == site.system and c.action == "delete"]
    assert [(c.kind, c.detail.startswith("漂移")) for c in drift] == [("rule", True)]
    _, outcome = _converge(site, state)
    assert outcome.ok
    assert _mine(planner.diff(state, eng.read(state)), site.system, *planner.CHANGE_ACTIONS) == []


def test_a_placeholder_resolves_when_its_port_appears(site: Site) -> None:
    state = site.desired()
    assert _converge(site, state)[1].ok
    eng = site.engine
    pid = _project_id(eng, site.system)
    port = site.make_port(pid, "172.21.4.31", tags=[desired.PLACEHOLDER_TAG + PLACEHOLDER])
    actual = eng.read(state)
    plan = planner.diff(state, actual, cloud=eng.cloud)
    assert _mine(plan, site.system, "pending") == []
    creates = [
        c
        for c in plan.changes
        if c.system == site.system and c.kind == "rule" and c.action == "create"
    ]
    # every rule towards or from the placeholder now names the port's address
    assert creates
    assert {c.data["rule"].remote_cidr for c in creates} == {"172.21.4.31/32"}
    assert [
        c.data["port_id"]
        for c in plan.changes
        if c.kind == "binding" and c.action == "update" and c.system == site.system
    ] == [port]
    outcome = eng.apply(state, plan, actual)
    assert outcome.ok, [s.error for s in outcome.failed]
    assert _mine(planner.diff(state, eng.read(state)), site.system) == []


def test_a_failed_step_is_reported_and_a_rerun_converges(site: Site) -> None:
    """Someone deletes a port between plan and apply: its binding fails, the steps
    after it are not started, and the next plan and apply converge."""
    state = site.desired()
    assert _converge(site, state)[1].ok
    eng = site.engine
    pid = _project_id(eng, site.system)
    port = site.make_port(pid, "172.21.4.22")
    actual = eng.read(state)
    plan = planner.diff(state, actual, cloud=eng.cloud)
    assert [
        c.kind
        for c in plan.changes
        if c.system == site.system and c.action in planner.CHANGE_ACTIONS
    ] == ["binding"]
    site.delete_port(port)
    outcome = eng.apply(state, plan, actual)
    assert not outcome.ok
    assert [(s.change.kind, s.status) for s in outcome.failed] == [("binding", "failed")]
    assert outcome.failed[0].error
    plan = planner.diff(state, eng.read(state), cloud=eng.cloud)
    assert _mine(plan, site.system, *planner.CHANGE_ACTIONS) == []


def test_leases_are_exclusive_and_released(site: Site) -> None:
    name = f"cgcloud-contract-{site.system[-6:]}"
    first, second = site.engine, site.make_engine()
    first.acquire_lock(owner="first", name=name)
    try:
        with pytest.raises(LockHeld, match="first"):
            second.acquire_lock(owner="second", name=name)
        holder = second.lock_holder(name)
        assert holder is not None and holder.owner == "first"
    finally:
        first.release_lock(name=name)
    assert second.lock_holder(name) is None
    second.acquire_lock(owner="second", name=name)
    second.release_lock(name=name)

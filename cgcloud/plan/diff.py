"""diff(desired, actual) → Plan: one step per resource kind, in dependency order."""

from __future__ import annotations

from typing import Any

from cgcloud import desired as d
from cgcloud.actual import ActualState
from cgcloud.plan import diff_network, diff_projects
from cgcloud.plan.changes import GLOBAL, Change, Plan
from cgcloud.plan.context import Diff
from cgcloud.plan.fingerprints import fingerprints, placeholder_addresses


def diff(
    state: d.DesiredState,
    actual: ActualState,
    cloud: str = "",
    fps: dict[str, str | None] | None = None,
) -> Plan:
    """Everything that must change for the cloud to equal the paperwork, with reasons.

    ``fps``: the state's `fingerprints` when the caller computed them already (with the
    same placeholder resolution for the systems ``actual`` covers)."""
    plan = Plan(now=state.now, cloud=cloud, notes=list(state.notes))
    if fps is None:
        fps = fingerprints(state, placeholder_addresses(actual.ports, actual.projects))
    x = Diff(state, actual, fps, plan)
    for step in (
        diff_projects.projects,
        diff_projects.fingerprints,
        diff_projects.quotas,
        diff_projects.flavors,
        diff_network.groups,
        diff_network.rules,
        diff_network.bindings,
        diff_network.unmanaged_groups,
    ):
        step(x)
    plan.changes.sort(key=_change_order)
    return plan


_KIND_ORDER = {
    k: i for i, k in enumerate(("project", "quota", "flavor", "group", "rule", "binding"))
}
_ACTION_ORDER = {a: i for i, a in enumerate(("create", "update", "delete", "pending", "report"))}


def _change_order(c: Change) -> tuple[Any, ...]:
    return (
        c.system == GLOBAL,
        c.system,
        _KIND_ORDER.get(c.kind, 9),
        _ACTION_ORDER[c.action],
        c.name,
        c.id or "",
    )

"""What every imperative engine derives from a plan the same way: the steps to carry
out, the fingerprint bookkeeping around them, and which cloud id each system and
group key has. Shared so that two engines cannot disagree about it."""

from __future__ import annotations

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import ActualState
from cgcloud.engines.base import ApplyResult, Step
from cgcloud.i18n import _


def change_steps(plan: p.Plan) -> list[Step]:
    return [Step(c) for c in plan.changes if c.action in p.CHANGE_ACTIONS]


def untag_steps(plan: p.Plan) -> list[Step]:
    """A project's recorded rule fingerprint stops being true the moment its rules
    change: it is removed first (the new one is written only once the whole plan is
    carried out), or a later rule set equal to the old one would look settled."""
    changed = {
        c.system
        for c in plan.changes
        if c.kind in ("group", "rule") and c.action in p.CHANGE_ACTIONS
    }
    return [
        Step(
            p.Change(
                "delete",
                "fingerprint",
                f.system,
                old,
                detail=_("规则指纹作废"),
                id=f.project_id,
                data={"old": [old]},
            )
        )
        for f in plan.fingerprints
        if f.system in changed and f.project_id
        for old in f.old
    ]


def fingerprint_steps(fps: list[p.Fingerprint], applied: ApplyResult | None) -> list[Step]:
    """One step per project whose fingerprint is to be recorded (``applied``: the ids
    of the projects the apply created). ``data``: the ``old`` marks to remove first
    (a failure in between leaves none: read in full next time), the ``new`` one."""
    created = {
        s.change.system: s.id
        for s in (applied.steps if applied else [])
        if s.change.kind == "project" and s.change.action == "create" and s.id
    }
    steps = []
    for fp in fps:
        pid = fp.project_id or created.get(fp.system)
        if pid is not None:
            steps.append(
                Step(
                    p.Change(
                        "update",
                        "fingerprint",
                        fp.system,
                        fp.new,
                        detail=_("记录规则指纹"),
                        id=pid,
                        data={"old": fp.old, "new": fp.new},
                    )
                )
            )
    return steps


def project_ids(actual: ActualState) -> dict[str | None, str]:
    """System → id of its managed project."""
    return {
        p._tag_value(x.tags, d.SYSTEM_TAG): x.id for x in actual.projects if p.is_managed(x.tags)
    }


def group_ids(actual: ActualState, plan: p.Plan) -> dict[str | None, str]:
    """Group key → id of cgcloud's group; of duplicates, the one the plan keeps (the
    one rules must go to)."""
    owned = p.managed_projects_by_id(actual.projects)
    out: dict[str | None, str] = {}
    for g in actual.groups:
        ident = p.group_identity(g, owned)
        if ident is not None:
            out.setdefault(ident[0], g.id)
    deleted = {c.id for c in plan.changes if c.kind == "group" and c.action == "delete"}
    for g in actual.groups:
        ident = p.group_identity(g, owned)
        if ident is not None and g.id not in deleted:
            out[ident[0]] = g.id
    return out

"""Pulumi's engine events → cgcloud's plan and step outcomes (pure: no CLI, no cloud).

Why translate instead of printing Pulumi's own preview: `cgcloud plan --engine pulumi`
must render as text, Markdown and JSON (``cgcloud-plan/v1``) and honour
``--detailed-exitcode``, ``--max-deletes`` and the pull-request comment exactly like the
OpenStack engine, and show each change with its system and the forms' rows that ask
for it. The events are the Automation API's own (``pulumi.automation.events``): a
``ResourcePreEvent`` per step Pulumi plans or starts, ``ResOutputsEvent`` when a step
is done, ``ResOpFailedEvent`` when one failed, a ``DiagnosticEvent`` saying why.

A replacement is one logical Pulumi step (``replace``) made of a ``create-replacement``
and a ``delete-replaced``; cgcloud's plan shows it as a deletion plus a creation, as
the OpenStack engine shows a changed Neutron rule, so the delete guard counts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi.automation.events import EngineEvent, OpType, StepEventMetadata

from cgcloud import plan as p
from cgcloud.engines.base import Step
from cgcloud.engines.pulumi.program import Known
from cgcloud.i18n import _

KINDS = {
    "openstack:identity/project:Project": "project",
    "openstack:compute/quotaSetV2:QuotaSetV2": "quota",
    "openstack:blockstorage/quoteSetV3:QuoteSetV3": "quota",
    "openstack:networking/quotaV2:QuotaV2": "quota",
    "openstack:compute/flavor:Flavor": "flavor",
    "openstack:networking/secGroup:SecGroup": "group",
    "openstack:networking/secGroupRule:SecGroupRule": "rule",
    "openstack:networking/portSecGroupAssociate:PortSecGroupAssociate": "binding",
}
REPLACING = {OpType.REPLACE, OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED}
PLAIN = {OpType.CREATE: "create", OpType.UPDATE: "update", OpType.DELETE: "delete"}
IMPORTING = {OpType.IMPORT, OpType.IMPORT_REPLACEMENT}
_COLOUR = re.compile(r"<\{%[^%]*%\}>")  # Pulumi's colour markup in raw messages


def name_of(urn: str) -> str:
    """A resource's name: the last part of ``urn:pulumi:STACK::PROJECT::TYPE::NAME``."""
    return urn.split("::", 3)[-1]


def plan_of(
    events: Iterable[EngineEvent],
    known: Mapping[str, Known],
    *,
    now: str,
    cloud: str,
    group_systems: Mapping[str, str] | None = None,
) -> p.Plan:
    """The changes Pulumi's preview (or update) announced, in the order it announced them.

    ``known``: the program's names (``Declared.known``); a resource the program no longer
    declares (a deletion) is placed by its name: ``project-SYSTEM``, ``quota-SERVICE-SYSTEM``,
    ``group-KEY`` / ``rule-KEY-HASH`` (``group_systems``: key → system)."""
    steps: dict[str, list[StepEventMetadata]] = {}
    for e in events:
        if e.resource_pre_event is not None:
            m = e.resource_pre_event.metadata
            steps.setdefault(m.urn, []).append(m)
    plan = p.Plan(now=now, cloud=cloud)
    for urn, metas in steps.items():
        plan.changes.extend(_changes(urn, metas, known, group_systems or {}))
    return plan


def _changes(
    urn: str,
    metas: Sequence[StepEventMetadata],
    known: Mapping[str, Known],
    group_systems: Mapping[str, str],
) -> list[p.Change]:
    first = metas[0]
    if first.type not in KINDS and (
        first.type == "pulumi:pulumi:Stack" or first.type.startswith("pulumi:providers:")
    ):
        return []  # the stack and its providers are Pulumi's bookkeeping, not the cloud
    ops = {m.op for m in metas}
    k = known.get(name_of(urn)) or _guess(urn, first, group_systems)
    old = next((m.old for m in metas if m.old is not None), None)
    new = next((m.new for m in reversed(metas) if m.new is not None), None)
    data: dict[str, Any] = {"urn": urn, "type": first.type, "ops": sorted(o.value for o in ops)}
    reasons = list(k.reasons)
    if ops & REPLACING:
        keys = sorted({key for m in metas for key in (m.keys or [])})
        why = _("Pulumi 替换（{keys} 变化，资源不能原地更新）").format(keys=", ".join(keys) or "?")
        return [
            p.Change("delete", k.kind, k.system, k.label, reasons, why, _id(old), data=data),
            p.Change("create", k.kind, k.system, k.label, reasons, why, data=data),
        ]
    for op, action in PLAIN.items():
        if op in ops:
            before, after = _diff(metas, old, new) if action == "update" else (None, None)
            detail = {
                "create": _("新建（Pulumi）"),
                "update": _("更新（Pulumi）: {keys}").format(keys=", ".join(sorted(after or {}))),
                "delete": _("删除（Pulumi 程序已不再声明）"),
            }[action]
            return [
                p.Change(
                    action,
                    k.kind,
                    k.system,
                    k.label,
                    reasons,
                    detail,
                    _id(old),
                    before,
                    after,
                    data,
                )
            ]
    if ops & IMPORTING:
        detail = _("导入已有资源到 Pulumi 状态（云不变）")
        return [p.Change("report", k.kind, k.system, k.label, reasons, detail, _id(new), data=data)]
    return []  # same, read, refresh, discard: nothing changes in the cloud


def _id(state: Any) -> str | None:
    return (state.id or None) if state is not None else None


def _diff(
    metas: Sequence[StepEventMetadata], old: Any, new: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = sorted({key for m in metas for key in (m.diffs or [])})
    was = (old.inputs or {}) if old is not None else {}
    now = (new.inputs or {}) if new is not None else {}
    return {key: was.get(key) for key in keys}, {key: now.get(key) for key in keys}


def _guess(urn: str, meta: StepEventMetadata, group_systems: Mapping[str, str]) -> Known:
    """Kind, system and label of a resource the program does not declare (any more)."""
    name = name_of(urn)
    kind = KINDS.get(meta.type, meta.type.rsplit(":", 1)[-1].lower())
    system = p.GLOBAL
    head, _sep, rest = name.partition("-")
    if head == "project":
        system = rest
    elif head == "quota":
        system = rest.partition("-")[2] or p.GLOBAL
    elif head in ("group", "rule"):
        system = group_systems.get(rest.split("-", 1)[0], p.GLOBAL)
    state = meta.old or meta.new
    inputs = (state.inputs or {}) if state is not None else {}
    label = str(inputs.get("name") or inputs.get("description") or name)
    return Known(kind, system, label)


# --------------------------------------------------------------------------- outcomes


def outcomes(events: Iterable[EngineEvent]) -> dict[str, tuple[str, str]]:
    """URN → (done | failed | not-done, why) for every resource Pulumi started a step on."""
    errors: dict[str, list[str]] = {}
    state: dict[str, str] = {}
    for e in events:
        if e.diagnostic_event is not None and e.diagnostic_event.severity == "error":
            urn = e.diagnostic_event.urn or ""
            errors.setdefault(urn, []).append(clean(e.diagnostic_event.message))
        elif e.resource_pre_event is not None:
            state.setdefault(e.resource_pre_event.metadata.urn, "not-done")
        elif e.res_outputs_event is not None:
            urn = e.res_outputs_event.metadata.urn
            if state.get(urn) != "failed":
                state[urn] = "done"
        elif e.res_op_failed_event is not None:
            state[e.res_op_failed_event.metadata.urn] = "failed"
    return {
        urn: (status, "; ".join(errors.get(urn, [])) if status == "failed" else "")
        for urn, status in state.items()
    }


def first_error(events: Iterable[EngineEvent]) -> str:
    """The first error Pulumi reported (what to show when a whole update failed)."""
    for e in events:
        if e.diagnostic_event is not None and e.diagnostic_event.severity == "error":
            return clean(e.diagnostic_event.message)
    return ""


def clean(message: str) -> str:
    """One line without Pulumi's colour markup."""
    return " ".join(_COLOUR.sub("", message).split())


def steps(
    changes: Sequence[p.Change], events: Sequence[EngineEvent], error: str | None
) -> list[Step]:
    """The outcome of each change of the plan after ``pulumi up``. A change Pulumi announced
    (its ``urn``) gets that resource's outcome. A change of cgcloud's own diff (enforce's
    rule plan) has no URN: it is done when the whole update succeeded (the cloud then
    holds the state), else failed with the update's error. A change whose resource the
    update never touched is done when it succeeded (nothing was left to do), else not
    done. ``error``: None = the update succeeded."""
    by_urn = outcomes(events)
    out = []
    for c in changes:
        urn = c.data.get("urn")
        if urn is not None and urn in by_urn:
            status, why = by_urn[urn]
            out.append(Step(c, status, why or ("" if status == "done" else error or "")))
        elif urn is not None and error is not None:
            out.append(Step(c, "not-done", error))  # announced, never started
        elif error is None:
            out.append(Step(c, "done"))
        else:
            out.append(Step(c, "failed", error))
    return out

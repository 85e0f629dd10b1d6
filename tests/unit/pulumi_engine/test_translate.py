"""Pulumi engine events → cgcloud's plan and step outcomes (cgcloud/engines/pulumi/translate.py).

The events are built the way the Automation API builds them from the CLI's event log:
``EngineEvent.from_json`` over the JSON shapes of Pulumi's ``apitype/events.go``
(camelCase keys, as ``pulumi.automation.events`` reads them) — no invented classes.
Pure logic, no CLI: this is what `cgcloud plan --engine pulumi` shows of a preview.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi.automation.events import EngineEvent

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.engines.pulumi import translate
from cgcloud.engines.pulumi.program import Known

STACK = "urn:pulumi:dev::cgcloud::pulumi:pulumi:Stack::cgcloud-dev"
PROVIDER_TYPE = "pulumi:providers:openstack"
T_PROJECT = "openstack:identity/project:Project"
T_QUOTA = "openstack:compute/quotaSetV2:QuotaSetV2"
T_RULE = "openstack:networking/secGroupRule:SecGroupRule"
T_GROUP = "openstack:networking/secGroup:SecGroup"
SYSTEM = "智慧城管综合平台"
REASON = d.Reason(form="WL-2027-0001", row=3, until="2027-01-31")


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::cgcloud::{type_}::{name}"


def state(type_: str, name: str, inputs: dict[str, Any], id_: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "urn": urn(type_, name),
        "id": id_,
        "parent": STACK,
        "provider": "",
        "custom": True,
        "inputs": inputs,
        "outputs": {},
    }


def meta(op: str, type_: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"op": op, "urn": urn(type_, name), "type": type_, "provider": "", **extra}


_seq = iter(range(1, 10_000))


def pre(op: str, type_: str, name: str, **extra: Any) -> EngineEvent:
    body = {"metadata": meta(op, type_, name, **extra), "planning": True}
    return _event({"resourcePreEvent": body})


def outputs(op: str, type_: str, name: str) -> EngineEvent:
    return _event({"resOutputsEvent": {"metadata": meta(op, type_, name)}})


def failed(op: str, type_: str, name: str) -> EngineEvent:
    body = {"metadata": meta(op, type_, name), "status": 1, "steps": 1}
    return _event({"resOpFailedEvent": body})


def diagnostic(message: str, name: str | None = None, type_: str = T_RULE) -> EngineEvent:
    body = {
        "message": message,
        "color": "raw",
        "severity": "error",
        "urn": urn(type_, name) if name else "",
    }
    return _event({"diagnosticEvent": body})


def _event(payload: dict[str, Any]) -> EngineEvent:
    # through JSON, as the Automation API reads the CLI's event log line by line
    line = json.dumps({"sequence": next(_seq), "timestamp": 1800000000, **payload})
    return EngineEvent.from_json(json.loads(line))


KNOWN = {
    f"project-{SYSTEM}": Known("project", SYSTEM, SYSTEM, (REASON,)),
    f"quota-compute-{SYSTEM}": Known("quota", SYSTEM, SYSTEM, (REASON,)),
    "rule-abc123-0011": Known("rule", SYSTEM, "web ingress tcp/22 from 10.0.0.5/32", (REASON,)),
}


def _plan(*events: EngineEvent, groups: dict[str, str] | None = None) -> p.Plan:
    return translate.plan_of(
        events, KNOWN, now="2027-01-15T10:00:00+08:00", cloud="devcloud", group_systems=groups
    )


def test_creates_carry_the_system_and_the_forms_rows_and_skip_pulumis_bookkeeping() -> None:
    plan = _plan(
        pre("same", "pulumi:pulumi:Stack", "cgcloud-dev"),
        pre("create", PROVIDER_TYPE, "default_5_5_3"),
        pre("create", T_PROJECT, f"project-{SYSTEM}", new=state(T_PROJECT, "x", {"name": SYSTEM})),
        pre("create", T_RULE, "rule-abc123-0011"),
    )
    assert [(c.action, c.kind, c.system, c.name) for c in plan.changes] == [
        ("create", "project", SYSTEM, SYSTEM),
        ("create", "rule", SYSTEM, "web ingress tcp/22 from 10.0.0.5/32"),
    ]
    assert all(c.reasons == [REASON] for c in plan.changes)
    assert plan.changes[1].data["urn"] == urn(T_RULE, "rule-abc123-0011")
    assert plan.has_changes and plan.deletes == 0 and plan.summary["create"] == 2


def test_an_update_shows_what_changes_before_and_after() -> None:
    name = f"quota-compute-{SYSTEM}"
    plan = _plan(
        pre(
            "update",
            T_QUOTA,
            name,
            old=state(T_QUOTA, name, {"instances": 5, "cores": 64}, "proj-id"),
            new=state(T_QUOTA, name, {"instances": 6, "cores": 64}, "proj-id"),
            diffs=["instances"],
            detailedDiff={"instances": {"diffKind": "update", "inputDiff": True}},
        )
    )
    [c] = plan.changes
    assert (c.action, c.kind, c.system, c.id) == ("update", "quota", SYSTEM, "proj-id")
    assert c.before == {"instances": 5} and c.after == {"instances": 6}
    assert "instances" in c.detail


def test_a_replacement_is_a_deletion_and_a_creation_so_the_delete_guard_counts_it() -> None:
    name = "rule-abc123-0011"
    old = state(T_RULE, name, {"description": "cgcloud WL-2027-0001#3 until 2027-01-31"}, "r-1")
    new = state(T_RULE, name, {"description": "cgcloud WL-2027-0001#4 until 2027-01-31"})
    plan = _plan(
        pre("create-replacement", T_RULE, name, old=old, new=new, keys=["description"]),
        pre("replace", T_RULE, name, old=old, new=new, keys=["description"]),
        pre("delete-replaced", T_RULE, name, old=old, new=new),
    )
    assert [(c.action, c.kind, c.system) for c in plan.changes] == [
        ("delete", "rule", SYSTEM),
        ("create", "rule", SYSTEM),
    ]
    assert plan.changes[0].id == "r-1" and "description" in plan.changes[0].detail
    assert plan.deletes == 1 and plan.has_changes


def test_deletions_of_resources_no_longer_declared_are_placed_by_their_names() -> None:
    gone_rule = "rule-ffee0011aabb2233-9999"
    plan = _plan(
        pre(
            "delete",
            T_RULE,
            gone_rule,
            old=state(T_RULE, gone_rule, {"description": "cgcloud WL-2026-0007#2"}, "r-9"),
        ),
        pre(
            "delete",
            T_PROJECT,
            "project-旧版数字城管系统",
            old=state(T_PROJECT, "p", {"name": "旧版数字城管系统"}),
        ),
        pre("delete", T_GROUP, "group-0000000000000000", old=state(T_GROUP, "g", {})),
        groups={"ffee0011aabb2233": SYSTEM},
    )
    assert [(c.action, c.kind, c.system, c.name, c.id) for c in plan.changes] == [
        ("delete", "rule", SYSTEM, "cgcloud WL-2026-0007#2", "r-9"),
        ("delete", "project", "旧版数字城管系统", "旧版数字城管系统", None),
        ("delete", "group", p.GLOBAL, "group-0000000000000000", None),
    ]
    assert all(c.reasons == [] for c in plan.changes) and plan.deletes == 3


def test_nothing_but_sames_is_no_change_so_the_detailed_exit_code_is_0() -> None:
    plan = _plan(
        pre("same", "pulumi:pulumi:Stack", "cgcloud-dev"),
        pre("same", T_PROJECT, f"project-{SYSTEM}"),
        pre("read", T_QUOTA, f"quota-compute-{SYSTEM}"),
        pre("refresh", T_RULE, "rule-abc123-0011"),
    )
    assert plan.changes == [] and not plan.has_changes


def test_an_import_is_reported_not_counted_as_a_change() -> None:
    plan = _plan(
        pre("import", T_PROJECT, f"project-{SYSTEM}", new=state(T_PROJECT, "p", {}, "id-7"))
    )
    [c] = plan.changes
    assert (c.action, c.id) == ("report", "id-7") and not plan.has_changes


def test_the_translated_plan_renders_in_every_format() -> None:
    plan = _plan(pre("create", T_RULE, "rule-abc123-0011"))
    doc = json.loads(p.render(plan, "json"))
    assert doc["format"] == "cgcloud-plan/v1" and doc["summary"]["create"] == 1
    assert doc["systems"][0]["system"] == SYSTEM
    assert "WL-2027-0001" in p.render(plan, "text")
    assert SYSTEM in p.render(plan, "markdown")


# --------------------------------------------------------------------------- outcomes of `up`


def test_outcomes_of_an_update_done_failed_with_why_and_not_started() -> None:
    events = [
        pre("create", T_PROJECT, f"project-{SYSTEM}"),
        outputs("create", T_PROJECT, f"project-{SYSTEM}"),
        pre("create", T_RULE, "rule-abc123-0011"),
        diagnostic(
            "<{%fg 1%}>error: <{%reset%}>creating rule: Expected HTTP response code [201]\n"
            "  got 409: SecurityGroupRuleExists",
            "rule-abc123-0011",
        ),
        failed("create", T_RULE, "rule-abc123-0011"),
        pre("update", T_QUOTA, f"quota-compute-{SYSTEM}"),
    ]
    out = translate.outcomes(events)
    assert out[urn(T_PROJECT, f"project-{SYSTEM}")] == ("done", "")
    status, why = out[urn(T_RULE, "rule-abc123-0011")]
    assert status == "failed" and "SecurityGroupRuleExists" in why
    assert "<{%" not in why and "\n" not in why
    assert out[urn(T_QUOTA, f"quota-compute-{SYSTEM}")] == ("not-done", "")
    assert "creating rule" in translate.first_error(events)


def test_steps_of_the_previewed_plan_follow_their_resources() -> None:
    preview = _plan(
        pre("create", T_PROJECT, f"project-{SYSTEM}"),
        pre("create", T_RULE, "rule-abc123-0011"),
        pre("update", T_QUOTA, f"quota-compute-{SYSTEM}"),
    )
    up = [
        pre("create", T_PROJECT, f"project-{SYSTEM}"),
        outputs("create", T_PROJECT, f"project-{SYSTEM}"),
        pre("create", T_RULE, "rule-abc123-0011"),
        diagnostic("quota exceeded", "rule-abc123-0011"),
        failed("create", T_RULE, "rule-abc123-0011"),
    ]
    steps = translate.steps(preview.changes, up, "quota exceeded")
    assert [(s.change.kind, s.status) for s in steps] == [
        ("project", "done"),
        ("rule", "failed"),
        ("quota", "not-done"),  # announced, never started: the update stopped
    ]
    assert steps[1].error == "quota exceeded"


def test_steps_of_cgcloud_changes_without_a_urn_are_the_whole_updates_outcome() -> None:
    close = p.Change("delete", "rule", SYSTEM, "web ingress tcp/22", [REASON], id="r-1")
    [ok] = translate.steps([close], [], None)
    [bad] = translate.steps([close], [diagnostic("boom")], "Pulumi up 失败: boom")
    assert (ok.status, ok.error) == ("done", "")
    assert (bad.status, bad.error) == ("failed", "Pulumi up 失败: boom")


# --------------------------------------------------------------------------- with the program


def test_every_resource_the_program_declares_is_placed_by_its_urn() -> None:
    """The names `declare` registers are the ones its ``known`` describes, and every type
    it declares has a plan kind: a creation of the whole example repository, announced
    by Pulumi resource by resource, becomes cgcloud's plan with systems and rows."""
    from cgcloud import clock
    from cgcloud.engines.pulumi.program import Resolution, declare
    from cgcloud.validate import load_repository

    from .mocks import run

    repo, _, _ = load_repository([Path(__file__).resolve().parents[3] / "policies"])
    state = d.compile(repo, clock.now_local("2027-01-15T10:00"))
    keys = [g.key for g in state.groups]
    rec, declared = run(lambda: declare(state, Resolution(bindings={"port-1": keys[:1]})))
    plan = _plan_with(declared.known, *(pre("create", r.type, r.name) for r in rec.declared))
    assert len(plan.changes) == len(rec.declared) == len(declared.known)
    assert {r.type for r in rec.declared} <= set(translate.KINDS)
    assert {c.kind for c in plan.changes} == {
        "project",
        "quota",
        "flavor",
        "group",
        "rule",
        "binding",
    }
    systems = {p.system for p in state.projects}
    for c in plan.changes:
        assert c.system in (systems if c.kind != "flavor" else {p.GLOBAL}), c
        assert c.reasons or c.kind == "binding", c
    rules = [c for c in plan.changes if c.kind == "rule"]
    assert {r.reasons[0].form for r in rules} >= {r.reason.form for r in state.rules}


def _plan_with(known: dict[str, Known], *events: EngineEvent) -> p.Plan:
    return translate.plan_of(events, known, now="2027-01-15T10:00:00+08:00", cloud="c")

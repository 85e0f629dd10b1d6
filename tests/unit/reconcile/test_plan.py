"""diff(): desired vs hand-built ActualState. ``simulate`` plays a plan onto the state
the way an engine would, so convergence (a second plan is a no-op) is tested here too."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from cgcloud import clock, desired, plan
from cgcloud.plan import ActualState, AGroup, APort, AProject, ARule
from cgcloud.validate import load_repository

POLICIES = Path(__file__).resolve().parents[3] / "policies"
SYSTEM = "智慧城管综合平台"
NOW = "2027-01-15T10:00"
_ids = itertools.count(1)


def state_at(now: str = NOW) -> desired.DesiredState:
    repo, _, _ = load_repository([POLICIES])
    return desired.compile(repo, clock.now_local(now))


def simulate(p: plan.Plan, actual: ActualState) -> ActualState:
    """Apply a plan in memory (what the OpenStack engine does, minus the API)."""
    a = ActualState(**{k: getattr(actual, k) for k in ActualState.__dataclass_fields__})
    a.projects, a.groups, a.rules = list(a.projects), list(a.groups), list(a.rules)
    a.ports, a.flavors, a.quotas = list(a.ports), list(a.flavors), dict(a.quotas)
    proj = {plan._tag_value(x.tags, desired.SYSTEM_TAG): x for x in a.projects}
    for c in p.changes:
        if c.action == "create" and c.kind == "project":
            x = AProject(
                f"p{next(_ids)}", c.data["name"], list(c.data["tags"]), c.data["description"]
            )
            a.projects.append(x)
            proj[c.system] = x
        elif c.action == "update" and c.kind == "quota":
            pid = proj[c.system].id
            a.quotas[pid] = {**a.quotas.get(pid, {}), **c.data["set"]}
        elif c.action == "create" and c.kind == "flavor":
            a.flavors.append(
                plan.AFlavor(
                    f"f{next(_ids)}",
                    c.name,
                    c.data["vcpus"],
                    c.data["ram_mb"],
                    c.data["disk_gb"],
                    "cgcloud: x",
                )
            )
        elif c.action == "create" and c.kind == "group":
            # as the engine does: no tags, the identity is the description's key marker
            a.groups.append(
                AGroup(
                    f"g{next(_ids)}", c.data["name"], proj[c.system].id, [], c.data["description"]
                )
            )
    owned = plan.managed_projects_by_id(a.projects)
    gid: dict[str, str] = {}
    for g in a.groups:
        ident = plan.group_identity(g, owned)
        if ident is not None:
            gid.setdefault(ident[0], g.id)
    for c in p.changes:
        if c.action == "delete" and c.kind == "rule":
            a.rules = [r for r in a.rules if r.id != c.id]
        elif c.action == "delete" and c.kind == "group":
            a.groups = [g for g in a.groups if g.id != c.id]
            a.rules = [r for r in a.rules if r.group_id != c.id]
        elif c.action == "create" and c.kind == "rule":
            b = c.data["rule"]
            a.rules.append(
                ARule(
                    f"r{next(_ids)}",
                    gid[b.group_key],
                    b.direction,
                    b.ethertype,
                    b.protocol,
                    b.port_min,
                    b.port_max,
                    b.remote_cidr,
                    None,
                    b.description,
                )
            )
        elif c.kind == "binding" and c.action == "update":
            port = next(x for x in a.ports if x.id == c.id)
            new = APort(
                port.id,
                port.project_id,
                port.ips,
                c.data["keep"] + [gid[k] for k in c.data["add"]],
                port.tags,
                port.infrastructure,
                port.name,
            )
            a.ports = [new if x.id == port.id else x for x in a.ports]
    return a


def test_empty_cloud_creates_everything() -> None:
    p = plan.diff(state_at(), ActualState(), cloud="test")
    kinds = {(c.action, c.kind) for c in p.changes}
    assert ("create", "project") in kinds and ("update", "quota") in kinds
    assert ("create", "flavor") in kinds and ("create", "group") in kinds
    assert ("create", "rule") in kinds
    assert p.deletes == 0
    # the placeholder has no port yet: its rules and binding are pending
    pending = [c for c in p.changes if c.action == "pending"]
    assert pending and all("智慧城管-数据库" in c.detail for c in pending)
    # every rule create carries its reason and the description naming it
    for c in p.changes:
        if c.kind == "rule" and c.action == "create":
            assert c.reasons and c.data["rule"].description.startswith("cgcloud WL-2026-0031#")


def _cloud_with_ports() -> tuple[plan.Plan, ActualState]:
    first = plan.diff(state_at(), ActualState())
    a = simulate(first, ActualState())
    pid = next(x.id for x in a.projects)
    a.ports = [
        APort("port-web1", pid, ["172.20.4.11"], ["sg-default"], name="web1"),
        APort("port-app1", pid, ["172.21.4.21"], ["sg-default"], name="app1"),
        APort(
            "port-db",
            pid,
            ["172.21.4.30"],
            ["sg-default"],
            tags=[desired.PLACEHOLDER_TAG + "智慧城管-数据库"],
            name="db",
        ),
        APort("port-other", "other-project", ["172.21.4.22"], ["sg-x"], name="foreign"),
        APort("router", pid, ["172.21.4.1"], [], infrastructure=True),
    ]
    return first, a


def test_converges_and_second_plan_is_a_no_op() -> None:
    _, a = _cloud_with_ports()
    second = plan.diff(state_at(), a)
    assert second.has_changes  # now the ports exist: bindings and placeholder rules
    binds = {c.id for c in second.changes if c.kind == "binding"}
    assert binds == {"port-web1", "port-app1", "port-db"}
    placeholder_rules = [
        c
        for c in second.changes
        if c.kind == "rule"
        and c.action == "create"
        and c.data["rule"].remote_cidr == "172.21.4.30/32"
    ]
    assert placeholder_rules
    b = simulate(second, a)
    third = plan.diff(state_at(), b)
    assert not third.has_changes, plan.render_text(third)
    assert third.count("pending") == 0
    web = next(x for x in b.ports if x.id == "port-web1")
    assert "sg-default" in web.group_ids and len(web.group_ids) == 2


def _converged() -> ActualState:
    _, a = _cloud_with_ports()
    return simulate(plan.diff(state_at(), a), a)


def test_hand_made_rule_in_managed_group_is_drift() -> None:
    a = _converged()
    g = a.groups[0]
    a.rules.append(ARule("hand", g.id, "ingress", "IPv4", "tcp", 23, 23, "0.0.0.0/0", None, ""))
    p = plan.diff(state_at(), a)
    changes = [c for c in p.changes if c.action in plan.CHANGE_ACTIONS]
    assert [(c.action, c.kind, c.id) for c in changes] == [("delete", "rule", "hand")]
    assert "漂移" in changes[0].detail


def test_unmanaged_group_and_rules_are_only_reported() -> None:
    a = _converged()
    pid = a.projects[0].id
    a.groups.append(AGroup("mine", "hand-made", pid))
    a.rules.append(ARule("mine-r", "mine", "ingress", "IPv4", "tcp", 23, 23, "0.0.0.0/0"))
    p = plan.diff(state_at(), a)
    assert not p.has_changes
    assert any(c.action == "report" and c.id == "mine" for c in p.changes)


def test_window_change_is_delete_plus_create_of_that_rule_only() -> None:
    a = _converged()
    s = state_at()
    row3 = [r for r in s.rules if r.reason.row == 3]
    for r in row3:
        r.reason = desired.Reason(r.reason.form, 3, "2027-06-30")
        r.reasons = [r.reason]
    p = plan.diff(s, a)
    changes = [c for c in p.changes if c.action in plan.CHANGE_ACTIONS]
    assert sorted(c.action for c in changes) == ["create", "delete"]
    assert all(c.action == "delete" or "#3" in c.data["rule"].description for c in changes)


def test_removed_form_removes_rules_and_groups_but_not_project() -> None:
    a = _converged()
    feb = state_at("2027-02-15T10:00")  # high-risk rows have ended
    p = plan.diff(feb, a)
    deleted = [c for c in p.changes if c.action == "delete"]
    assert deleted and all(c.kind in ("rule", "group") for c in deleted)
    assert all("2027-01-31" in c.detail for c in deleted if c.kind == "rule")
    # 2028: no approved form at all → project is reported, never deleted
    p28 = plan.diff(state_at("2028-01-15T10:00"), a)
    assert not [c for c in p28.changes if c.kind == "project" and c.action == "delete"]
    assert any(c.kind == "project" and c.action == "report" for c in p28.changes)


def test_unmanaged_project_with_same_name_blocks_the_system() -> None:
    a = ActualState(projects=[AProject("x", SYSTEM, [], "made by hand")])
    p = plan.diff(state_at(), a)
    assert not [c for c in p.changes if c.system == SYSTEM and c.action in plan.CHANGE_ACTIONS]
    assert any(c.action == "report" and c.kind == "project" for c in p.changes)


def test_services_missing_skip_their_quotas() -> None:
    a = ActualState(services=["network"])
    p = plan.diff(state_at(), a)
    q = next(c for c in p.changes if c.kind == "quota")
    assert set(q.data["set"]) == set(plan.NETWORK_KEYS)
    assert not [c for c in p.changes if c.kind == "flavor"]


def test_volume_tier_quota_only_for_existing_types() -> None:
    a = ActualState(volume_types=["high-speed"])
    q = next(c for c in plan.diff(state_at(), a).changes if c.kind == "quota")
    assert q.data["set"]["gigabytes_high-speed"] == 2000
    assert "gigabytes_standard" not in q.data["set"]


def test_renderers() -> None:
    p = plan.diff(state_at(), ActualState(), cloud="devcloud")
    text = plan.render(p, "text")
    assert text.startswith("计划：新建 ") and f"== {SYSTEM}" in text
    md = plan.render(p, "markdown")
    assert md.startswith("### 计划：新建 ") and "| + | rule |" in md
    doc = json.loads(plan.render(p, "json"))
    assert doc["format"] == "cgcloud-plan/v1" and doc["cloud"] == "devcloud"
    assert list(doc)[:4] == ["format", "cloud", "now", "summary"]
    assert doc["summary"]["create"] == p.count("create")
    assert {"system", "changes"} == set(doc["systems"][0])
    assert {
        "action",
        "kind",
        "system",
        "name",
        "id",
        "detail",
        "reasons",
        "before",
        "after",
    } == set(doc["systems"][0]["changes"][0])
    nothing = plan.diff(desired.DesiredState(now="x"), ActualState())
    assert "没有变更" in plan.render(nothing, "text")


def _applied() -> tuple[desired.DesiredState, ActualState]:
    state = state_at()
    return state, simulate(plan.diff(state, ActualState()), ActualState())


def test_untagged_group_with_the_key_marker_in_a_managed_project_is_ours() -> None:
    """The tagging gap: a group cgcloud created whose tags never arrived (an older
    apply's failed second call) is recognised by its description's key marker, so
    the next plan creates no second group, and it is no longer reported as unmanaged."""
    state, a = _applied()
    assert all(not g.tags for g in a.groups)  # created as the engine does: no tags
    p = plan.diff(state, a)
    assert not p.has_changes, plan.render_text(p)
    assert not [c for c in p.changes if c.kind == "group"]


def test_key_marker_outside_a_managed_project_is_not_ours() -> None:
    state, a = _applied()
    g = a.groups[0]
    stranger = AProject("px", "someone-else", [], "")
    a.projects.append(stranger)
    a.groups.append(AGroup("gx", g.name, "px", [], g.description))
    a.rules.append(ARule("rx", "gx", "ingress", "IPv4", "tcp", 23, 23, "0.0.0.0/0"))
    p = plan.diff(state, a)
    assert not p.has_changes  # never touched, not even reported: not in a managed project
    assert all(c.id != "gx" for c in p.changes)
    key = desired.group_marker(g.description)
    assert (
        key and plan.group_identity(a.groups[-1], plan.managed_projects_by_id(a.projects)) is None
    )


def test_duplicate_group_keeps_the_one_with_rules() -> None:
    """A create retried after a lost answer leaves two groups with one key: the plan
    deletes the empty one, keeps the one holding the rules."""
    state, a = _applied()
    g = next(x for x in a.groups if any(r.group_id == x.id for r in a.rules))
    a.groups.insert(0, AGroup("g-dup", g.name, g.project_id, [], g.description))
    p = plan.diff(state, a)
    changes = [(c.action, c.kind, c.id) for c in p.changes if c.action in plan.CHANGE_ACTIONS]
    assert changes == [("delete", "group", "g-dup")]
    assert not plan.diff(state, simulate(p, a)).has_changes


def test_tagged_groups_of_older_applies_are_still_ours() -> None:
    state, a = _applied()
    owned = plan.managed_projects_by_id(a.projects)
    system = next(iter(owned.values()))
    a.groups = [
        AGroup(
            g.id,
            g.name,
            g.project_id,
            [
                desired.MANAGED_TAG,
                desired.SYSTEM_TAG + system,
                desired.GROUP_TAG + (desired.group_marker(g.description) or ""),
            ],
            "cgcloud: old description",
        )
        for g in a.groups
    ]
    assert not plan.diff(state, a).has_changes


# --------------------------------------------------------------------------- rule fingerprints


def _recorded(p: plan.Plan, a: ActualState) -> ActualState:
    """The projects as `record_fingerprints` leaves them after ``p`` was carried out."""
    new = {f.system: f.new for f in p.fingerprints}
    owned = plan.managed_projects_by_id(a.projects)
    a.projects = [
        AProject(x.id, x.name, x.tags, x.description, fingerprints=[new[owned[x.id]]])
        if owned.get(x.id) in new
        else x
        for x in a.projects
    ]
    return a


def test_fingerprint_changes_exactly_when_the_wanted_rules_do() -> None:
    resolved: dict[tuple[str, str], list[str]] = {}
    jan15, jan31 = state_at("2027-01-15T10:00"), state_at("2027-01-31T23:59:59")
    feb1 = state_at("2027-02-01T00:00:00")  # the high-risk rows ended on 01-31
    fp = plan.fingerprints(jan15, resolved)[SYSTEM]
    assert fp is not None and len(fp) == 16
    assert plan.fingerprints(jan31, resolved)[SYSTEM] == fp
    assert plan.fingerprints(feb1, resolved)[SYSTEM] not in (fp, None)
    # an edited window (same rule, another `until`) is another rule set
    edited = state_at("2027-01-15T10:00")
    r = edited.rules[0]
    r.reason = desired.Reason(r.reason.form, r.reason.row, "2027-06-30")
    assert plan.fingerprints(edited, resolved)[SYSTEM] != fp


def test_a_placeholder_counts_with_what_it_resolves_to() -> None:
    s = state_at()
    assert "智慧城管-数据库" in plan.placeholders(s)
    assert plan.fingerprints(s)[SYSTEM] is None  # ports not read: never settled
    unresolved = plan.fingerprints(s, {})[SYSTEM]
    _, a = _cloud_with_ports()
    resolved = plan.placeholder_addresses(a.ports, a.projects)
    assert resolved == {(SYSTEM, "智慧城管-数据库"): ["172.21.4.30"]}
    assert plan.fingerprints(s, resolved)[SYSTEM] not in (unresolved, None)
    # a port of another project with the same tag resolves nothing
    a.ports[2] = APort("port-db", "other-project", ["172.21.4.30"], [], a.ports[2].tags)
    assert plan.placeholder_addresses(a.ports, a.projects) == {}


def test_diff_lists_the_fingerprints_to_record_until_they_are() -> None:
    first = plan.diff(state_at(), ActualState())
    assert [(f.system, f.project_id, f.old) for f in first.fingerprints] == [(SYSTEM, None, [])]
    a = _converged()
    p = plan.diff(state_at(), a)
    assert not p.has_changes and [f.system for f in p.fingerprints] == [SYSTEM]
    wanted = plan.fingerprints(state_at(), plan.placeholder_addresses(a.ports, a.projects))
    assert p.fingerprints[0].new == wanted[SYSTEM]
    a = _recorded(p, a)
    again = plan.diff(state_at(), a)
    assert not again.has_changes and again.fingerprints == []
    assert plan.settled(wanted, a.projects) == {SYSTEM}
    # a month later the high-risk rows ended: not settled, the new one is to record
    feb = state_at("2027-02-15T10:00")
    feb_fps = plan.fingerprints(feb, plan.placeholder_addresses(a.ports, a.projects))
    assert plan.settled(feb_fps, a.projects) == set()
    p_feb = plan.diff(feb, a)
    assert [(f.system, f.old) for f in p_feb.fingerprints] == [(SYSTEM, [p.fingerprints[0].new])]


def test_settled_only_with_exactly_the_wanted_fingerprint() -> None:
    fps: dict[str, str | None] = {"a": "1" * 16, "b": None}

    def proj(system: str, *recorded: str, managed: bool = True) -> AProject:
        base = [desired.MANAGED_TAG] if managed else []
        tags = [*base, desired.SYSTEM_TAG + system]
        return AProject(system, system, tags, fingerprints=list(recorded))

    assert plan.settled(fps, [proj("a", "1" * 16)]) == {"a"}
    assert plan.settled(fps, [proj("a", "2" * 16)]) == set()
    assert plan.settled(fps, [proj("a", "1" * 16, "2" * 16)]) == set()
    assert plan.settled(fps, [proj("a", "1" * 16, managed=False)]) == set()
    assert plan.settled(fps, [proj("a")]) == set()
    assert plan.settled(fps, [proj("b", "x")]) == set()  # placeholder unknown
    # a managed project the forms want nothing in: settled once its groups are gone
    assert plan.settled(fps, [proj("c", plan.EMPTY_FINGERPRINT)]) == {"c"}


def test_the_fingerprint_tag_is_not_a_project_change_and_survives_one() -> None:
    a = _converged()
    a = _recorded(plan.diff(state_at(), a), a)
    assert not plan.diff(state_at(), a).has_changes
    kept = a.projects[0].fingerprints
    a.projects[0].description = "edited by hand"
    updates = [c for c in plan.diff(state_at(), a).changes if c.kind == "project"]
    assert [c.action for c in updates] == ["update"]
    assert kept and updates[0].data["fingerprints"] == kept  # the update keeps it
    assert "fingerprints" not in (updates[0].after or {})  # the plan does not show it
    # once stale (the high-risk rows ended), the PATCH must not bring it back after the
    # engine removed it before changing the rules
    feb = [c for c in plan.diff(state_at("2027-02-15T10:00"), a).changes if c.kind == "project"]
    assert [c.action for c in feb] == ["update"]
    assert feb[0].data["fingerprints"] == []


def test_diff_draws_no_conclusion_outside_the_scope_read() -> None:
    a = _converged()
    # a read that skipped the system: no groups, rules, ports or quotas of it
    skipped = ActualState(projects=a.projects, scope=set())
    p = plan.diff(state_at(), skipped)
    assert not [c for c in p.changes if c.kind in ("group", "rule", "binding", "quota")]
    assert p.fingerprints == []
    # the same read with the system in scope sees everything missing
    full = plan.diff(state_at(), ActualState(projects=a.projects, scope={SYSTEM}))
    assert any(c.kind == "rule" and c.action == "create" for c in full.changes)

"""Diff the desired state against the actual state → a Plan of changes with reasons.

Pure: ``ActualState`` is plain data an engine read from a cloud, so the diff is
testable with hand-built state. Safety lives here: only resources that carry
cgcloud's tags are ever changed; unmanaged ones are only reported. A rule
inside a cgcloud-owned group that cgcloud did not ask for is drift → delete.
Neutron rules cannot be updated, so a changed rule is a delete plus a create
(apply deletes first: Neutron's duplicate check ignores the description).

The JSON rendering (``format: cgcloud-plan/v1``) is documented in docs/reconcile.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from cgcloud import desired as d
from cgcloud.actual import (  # noqa: F401 - re-exported: the plan's callers name them p.X
    ActualState,
    AFlavor,
    AGroup,
    APort,
    AProject,
    ARule,
    _tag_value,
    group_identity,
    is_managed,
    managed_projects_by_id,
)

GLOBAL = "(全局)"
ACTIONS = ("create", "update", "delete", "pending", "report")
CHANGE_ACTIONS = ("create", "update", "delete")
COMPUTE_KEYS = ("instances", "cores", "ram_mb")
NETWORK_KEYS = ("floating_ips", "security_groups", "security_group_rules")
ANY = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}


# --------------------------------------------------------------------------- plan


@dataclass(slots=True)
class Change:
    """One change (or pending/report item), with why and what the engine needs to do it."""

    action: str
    kind: str
    system: str
    name: str
    reasons: list[d.Reason] = field(default_factory=list)
    detail: str = ""
    id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "system": self.system,
            "name": self.name,
            "id": self.id,
            "detail": self.detail,
            "reasons": [r.to_dict() for r in self.reasons],
            "before": self.before,
            "after": self.after,
        }


@dataclass(slots=True)
class Fingerprint:
    """A project's rule fingerprint to record once the plan has been carried out.

    ``project_id`` None: the plan creates the project. ``old``: the project's
    ``cgcloud:rules=`` tags now (removed first), ``new``: the tag to add."""

    system: str
    project_id: str | None
    old: list[str]
    new: str


@dataclass(slots=True)
class Plan:
    now: str
    cloud: str = ""
    changes: list[Change] = field(default_factory=list)
    notes: list[d.Note] = field(default_factory=list)
    # not changes: bookkeeping for enforce, recorded after a fully successful apply
    fingerprints: list[Fingerprint] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(c.action in CHANGE_ACTIONS for c in self.changes)

    @property
    def deletes(self) -> int:
        return self.count("delete")

    def by_system(self) -> list[tuple[str, list[Change]]]:
        systems: dict[str, list[Change]] = {}
        for c in self.changes:
            systems.setdefault(c.system, []).append(c)
        return sorted(systems.items(), key=lambda kv: (kv[0] == GLOBAL, kv[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "cgcloud-plan/v1",
            "cloud": self.cloud,
            "now": self.now,
            "summary": self.summary,
            "has_changes": self.has_changes,
            "systems": [
                {"system": s, "changes": [c.to_dict() for c in cs]} for s, cs in self.by_system()
            ],
            "notes": [n.to_dict() for n in self.notes],
        }


# --------------------------------------------------------------------------- diff


def _v4(ips: list[str]) -> list[ipaddress.IPv4Address]:
    out = []
    for ip in ips:
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            continue
        if isinstance(a, ipaddress.IPv4Address):
            out.append(a)
    return out


def _rule_key(group_id: str, direction: str, ethertype: str, protocol: str | None,
              pmin: int | None, pmax: int | None, remote: str | None,
              description: str) -> tuple[Any, ...]:
    proto = None if protocol in (None, "", "any") else str(protocol).lower()
    if proto is None:
        pmin = pmax = None
    return (group_id, direction, ethertype, proto, pmin, pmax, remote or ANY[ethertype],
            description or "")


# --------------------------------------------------------------------------- rule fingerprints


def _digest(items: list[str]) -> str:
    h = hashlib.sha256(b"cgcloud-rules/v1")
    for item in sorted(items):
        h.update(item.encode() + b"\n")
    return h.hexdigest()[:16]


EMPTY_FINGERPRINT = _digest([])  # a managed project the forms want nothing in


def placeholders(state: d.DesiredState) -> list[str]:
    """The placeholder names the state's groups and rules use."""
    return sorted({g.hosts.placeholder for g in state.groups if g.hosts.placeholder}
                  | {r.remote_placeholder for r in state.rules if r.remote_placeholder})


def placeholder_addresses(ports: list[APort],
                          projects: list[AProject]) -> dict[tuple[str, str], list[str]]:
    """(system, placeholder) → the IPv4 addresses of the ports in that system's managed
    project that carry the placeholder's tag: what the diff resolves it to."""
    owned = managed_projects_by_id(projects)
    out: dict[tuple[str, str], list[str]] = {}
    for port in ports:
        name = _tag_value(port.tags, d.PLACEHOLDER_TAG)
        system = owned.get(port.project_id)
        if name and system is not None:
            out.setdefault((system, name), []).extend(str(ip) for ip in _v4(port.ips))
    return {k: sorted(v) for k, v in out.items()}


def fingerprints(state: d.DesiredState,
                 resolved: dict[tuple[str, str], list[str]] | None = None,
                 ) -> dict[str, str | None]:
    """System → a short hash of the groups and rules the forms want in its project at
    ``state.now``: group keys, each rule's Neutron tuple with its ``until`` description,
    and what each placeholder resolves to (``resolved``, from `placeholder_addresses`).

    Recorded on the project (``cgcloud:rules=``) once the cloud holds exactly that, it
    lets an enforce pass skip the projects whose wanted rules have not changed since:
    every time-driven action (a window opening or ending, a row removed, a placeholder's
    port appearing) changes the hash. ``resolved`` None: placeholders are unknown, and a
    system that uses one gets None (never settled)."""
    items: dict[str, list[str]] = {}
    unsure: set[str] = set()

    def placeholder(system: str, name: str) -> str:
        if resolved is None:
            unsure.add(system)
            return name
        return f"{name}={','.join(resolved.get((system, name), []))}"

    for proj in state.projects:
        items.setdefault(proj.system, [])
    for g in state.groups:
        hosts = placeholder(g.system, g.hosts.placeholder) if g.hosts.placeholder else ""
        items.setdefault(g.system, []).append(f"group {g.key} {hosts}")
    for r in state.rules:
        remote = (placeholder(r.system, r.remote_placeholder) if r.remote_placeholder
                  else r.remote_cidr)
        key = _rule_key(r.group, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max,
                        remote, r.description)
        items.setdefault(r.system, []).append("rule " + "\t".join(map(str, key)))
    return {system: None if system in unsure else _digest(rows)
            for system, rows in items.items()}


def recorded_fingerprint(tags: list[str]) -> list[str]:
    """The ``cgcloud:rules=`` tags a project carries (one when apply/enforce wrote it)."""
    return [t for t in tags if t.startswith(d.RULES_TAG)]


def settled(fps: dict[str, str | None], projects: list[AProject]) -> set[str]:
    """Systems whose managed project records exactly the fingerprint wanted now: the
    cloud held these rules when it was recorded, and the forms still want the same."""
    out = set()
    for proj in projects:
        system = _tag_value(proj.tags, d.SYSTEM_TAG)
        if not is_managed(proj.tags) or system is None:
            continue
        want = fps.get(system, EMPTY_FINGERPRINT)
        if want is not None and recorded_fingerprint(proj.tags) == [d.RULES_TAG + want]:
            out.add(system)
    return out


def diff(state: d.DesiredState, actual: ActualState, cloud: str = "",
         fps: dict[str, str | None] | None = None) -> Plan:
    """Everything that must change for the cloud to equal the paperwork, with reasons.

    ``fps``: the state's `fingerprints` when the caller computed them already (with the
    same placeholder resolution for the systems ``actual`` covers)."""
    plan = Plan(now=state.now, cloud=cloud, notes=list(state.notes))
    add = plan.changes.append
    if fps is None:
        fps = fingerprints(state, placeholder_addresses(actual.ports, actual.projects))

    # ---- projects
    managed_projects: dict[str, AProject] = {}
    for p in actual.projects:
        system = _tag_value(p.tags, d.SYSTEM_TAG)
        if is_managed(p.tags) and system is not None:
            managed_projects.setdefault(system, p)
    by_name = {p.name: p for p in actual.projects}
    project_of: dict[str, AProject | None] = {}
    blocked: set[str] = set()
    for want in state.projects:
        have = managed_projects.get(want.system)
        gone = _tag_value(have.tags, d.DECOMMISSIONED_TAG) if have else None
        if have is not None and gone is not None:  # enforce reclaimed it (docs/enforce.md)
            add(Change("report", "project", want.system, want.name, want.reasons,
                       f"该系统已按关停通知单 {gone} 关停并回收：不再开通资源（恢复须由管理员"
                       f"移除项目标签 {d.DECOMMISSIONED_TAG}{gone}）", id=have.id))
            blocked.add(want.system)
            continue
        if have is None and want.name in by_name:
            add(Change("report", "project", want.system, want.name, want.reasons,
                       f"同名项目 {want.name} 已存在但不是 cgcloud 管理的（没有 {d.MANAGED_TAG} 标签）："
                       "不会修改它；请改名或由管理员加标签后重试",
                       id=by_name[want.name].id))
            blocked.add(want.system)
            continue
        project_of[want.system] = have
        wanted: dict[str, Any] = {"description": want.description, "tags": sorted(want.tags)}
        if have is None:
            add(Change("create", "project", want.system, want.name, want.reasons,
                       "新建项目", after=wanted,
                       data={"name": want.name, "description": want.description,
                             "tags": want.tags}))
        else:
            # the rule fingerprint is bookkeeping, not the forms' business: not compared,
            # and kept by an update only while it is the one wanted now (a stale one
            # must not come back after the engine removed it)
            recorded = recorded_fingerprint(have.tags)
            fp = fps.get(want.system)
            kept = recorded if fp is not None and recorded == [d.RULES_TAG + fp] else []
            current: dict[str, Any] = {"description": have.description,
                                       "tags": sorted(set(have.tags) - set(recorded))}
            if current != wanted:
                add(Change("update", "project", want.system, want.name, want.reasons,
                           "更新项目说明/标签", id=have.id, before=current, after=wanted,
                           data={"description": want.description, "tags": want.tags + kept}))
    wanted_systems = {p.system for p in state.projects}
    for system, p in sorted(managed_projects.items()):
        if system not in wanted_systems and _tag_value(p.tags, d.DECOMMISSIONED_TAG):
            add(Change("report", "project", system, p.name, [],
                       "该系统已关停回收（项目保留，配额为零）", id=p.id))
        elif system not in wanted_systems:
            add(Change("report", "project", system, p.name, [],
                       "本年度没有已批准的资源申请单：资源已过期，cgcloud 不会删除项目，请办理续期或关停",
                       id=p.id))

    # ---- fingerprints of the rule sets, recorded once this plan is carried out
    for system in sorted(wanted_systems | set(managed_projects)):
        have = managed_projects.get(system)
        if system in blocked or not actual.covers(system) or (
                have is not None and _tag_value(have.tags, d.DECOMMISSIONED_TAG)):
            continue
        fp = fps.get(system, EMPTY_FINGERPRINT)
        old = recorded_fingerprint(have.tags) if have else []
        if fp is not None and old != [d.RULES_TAG + fp]:
            plan.fingerprints.append(Fingerprint(system, have.id if have else None, old,
                                                 d.RULES_TAG + fp))

    # ---- quotas
    for want in state.projects:
        if want.system in blocked or not actual.covers(want.system):
            continue
        have = project_of.get(want.system)
        current = actual.quotas.get(have.id, {}) if have else {}
        target = _quota_target(want.quotas, actual)
        changed = {k: v for k, v in target.items() if current.get(k) != v}
        if changed:
            add(Change("update", "quota", want.system, want.name, want.reasons,
                       "配额按本年度已批准的申请单合计",
                       id=have.id if have else None,
                       before={k: current.get(k) for k in changed}, after=changed,
                       data={"set": changed}))
        skipped = [t for t in want.quotas.gigabytes_by_tier if t not in actual.volume_types]
        if skipped and "volume" in actual.services:
            add(Change("report", "quota", want.system, want.name, want.reasons,
                       f"存储类型 {'、'.join(skipped)} 不是云硬盘类型（volume type），只计入总量 gigabytes"))

    # ---- flavors
    if "compute" in actual.services:
        flavors = {f.name: f for f in actual.flavors}
        for fl in state.flavors:
            have_f = flavors.get(fl.name)
            spec = {"vcpus": fl.vcpus, "ram_mb": fl.ram_mb, "disk_gb": fl.disk_gb}
            if have_f is None:
                add(Change("create", "flavor", GLOBAL, fl.name, fl.reasons, "新建规格",
                           after=spec, data={"name": fl.name, **spec}))
            elif (have_f.vcpus, have_f.ram_mb, have_f.disk_gb) != (fl.vcpus, fl.ram_mb,
                                                                    fl.disk_gb):
                add(Change("report", "flavor", GLOBAL, fl.name, fl.reasons,
                           "同名规格已存在但配置不同：不会修改，请人工处理", id=have_f.id,
                           before={"vcpus": have_f.vcpus, "ram_mb": have_f.ram_mb,
                                   "disk_gb": have_f.disk_gb}, after=spec))
        wanted_flavors = {f.name for f in state.flavors}
        for af in actual.flavors:
            if af.description.startswith("cgcloud: ") and af.name not in wanted_flavors:
                add(Change("report", "flavor", GLOBAL, af.name, [],
                           "本年度的申请单已不需要此规格；规格不会被删除（可能仍在使用）", id=af.id))

    # ---- groups: cgcloud's by tag, or by the key marker of its description inside a
    # managed project (what a bulk create writes in one call: nothing can half-fail)
    managed_project_systems = managed_projects_by_id(actual.projects)
    rules_per_group: dict[str, int] = {}
    for ar in actual.rules:
        rules_per_group[ar.group_id] = rules_per_group.get(ar.group_id, 0) + 1
    managed_groups: dict[str, AGroup] = {}
    group_by_id: dict[str, AGroup] = {}
    group_system: dict[str, str] = {}
    found: dict[str, list[AGroup]] = {}
    for g in actual.groups:
        ident = group_identity(g, managed_project_systems)
        if ident is None:
            continue
        key, system = ident
        group_by_id[g.id] = g
        group_system[g.id] = system
        found.setdefault(key, []).append(g)
    for key, same in found.items():
        # a duplicate (a create retried after a lost answer): keep the fullest one
        same.sort(key=lambda g: (-rules_per_group.get(g.id, 0), g.id))
        managed_groups[key] = same[0]
        for g in same[1:]:
            add(Change("delete", "group", group_system[g.id], g.name,
                       [], "重复的 cgcloud 安全组", id=g.id, data={"id": g.id}))
    wanted_groups = {g.key: g for g in state.groups
                     if g.system not in blocked and actual.covers(g.system)}
    group_reasons: dict[str, list[d.Reason]] = {}
    for r in state.rules:
        group_reasons.setdefault(r.group, []).extend(r.reasons)
    for key, wg in wanted_groups.items():
        if key not in managed_groups:
            reasons = sorted(set(group_reasons.get(key, [])))
            add(Change("create", "group", wg.system, wg.name, reasons,
                       f"新建安全组（主机 {wg.hosts.label}）",
                       after={"hosts": wg.hosts.to_dict()},
                       data={"key": key, "name": wg.name, "description": wg.description}))
    for key, ag in sorted(managed_groups.items(), key=lambda kv: kv[1].name):
        if key not in wanted_groups:
            add(Change("delete", "group", group_system[ag.id], ag.name, [],
                       "已没有生效的网络策略行使用此安全组", id=ag.id, data={"id": ag.id}))

    # ---- ports, placeholders
    projects_by_system = {s: p for s, p in project_of.items() if p is not None}
    placeholder_ports: dict[str, list[APort]] = {}
    for port in actual.ports:
        name = _tag_value(port.tags, d.PLACEHOLDER_TAG)
        if name:
            placeholder_ports.setdefault(name, []).append(port)

    def resolve_placeholder(system: str, name: str) -> list[APort]:
        proj = projects_by_system.get(system)
        return [p for p in placeholder_ports.get(name, []) if proj and p.project_id == proj.id]

    # ---- rules
    wanted_rules: dict[tuple[Any, ...], tuple[d.Rule, str | None]] = {}
    pending_placeholders: set[tuple[str, str]] = set()
    for r in state.rules:
        if r.system in blocked or not actual.covers(r.system):
            continue
        remotes: list[str | None]
        if r.remote_placeholder:
            ports = resolve_placeholder(r.system, r.remote_placeholder)
            remotes = [f"{ip}/32" for p in ports for ip in _v4(p.ips)]
            if not remotes:
                pending_placeholders.add((r.system, r.remote_placeholder))
                add(Change("pending", "rule", r.system, _rule_label(r, wanted_groups), r.reasons,
                           f"占位主机 {r.remote_placeholder} 尚无端口带标签 "
                           f"{d.PLACEHOLDER_TAG}{r.remote_placeholder}，解析后再开通"))
                continue
        else:
            remotes = [r.remote_cidr]
        for remote in remotes:
            wk = _rule_key(r.group, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max,
                          remote, r.description)
            wanted_rules[wk] = (r, remote)
    key_of_group = {ag.id: key for key, ag in managed_groups.items()}
    for ar in actual.rules:
        gkey = key_of_group.get(ar.group_id)
        if gkey is None:
            continue  # an unmanaged group (never touched) or a duplicate (deleted whole)
        ag = managed_groups[gkey]
        system = group_system[ag.id]
        if gkey not in wanted_groups:
            continue  # the group goes, and its rules with it
        if ar.remote_group_id:
            k: tuple[Any, ...] = ("remote-group", ar.id)
        else:
            k = _rule_key(gkey, ar.direction, ar.ethertype, ar.protocol, ar.port_min,
                          ar.port_max, ar.remote_cidr, ar.description)
        if k in wanted_rules:
            wanted_rules.pop(k)
            continue
        ours = d.parse_description(ar.description)
        detail = (
            f"规则已不再生效或已修改（原依据 {ours.form} 第{ours.row}行，至 {ours.until}）"
            if ours else "漂移：cgcloud 管理的安全组中有人工添加的规则"
        )
        add(Change("delete", "rule", system, _actual_rule_label(ar, ag), [ours] if ours else [],
                   detail, id=ar.id, data={"id": ar.id}))
    for (r, remote) in wanted_rules.values():
        body = {
            "group_key": r.group,
            "direction": r.direction,
            "ethertype": r.ethertype,
            "protocol": r.protocol,
            "port_range_min": r.port_min,
            "port_range_max": r.port_max,
            "remote_ip_prefix": remote or ANY[r.ethertype],
            "description": r.description,
        }
        add(Change("create", "rule", r.system, _rule_label(r, wanted_groups, remote), r.reasons,
                   "新建规则", after={k: v for k, v in body.items() if k != "group_key"},
                   data=body))

    # ---- bindings: which cgcloud groups each port should carry
    managed_ids = set(group_by_id)
    want_on_port: dict[str, set[str]] = {}
    port_system: dict[str, str] = {}
    for key, wg in wanted_groups.items():
        proj = projects_by_system.get(wg.system)
        if wg.hosts.placeholder:
            ports = resolve_placeholder(wg.system, wg.hosts.placeholder)
            if not ports:
                add(Change("pending", "binding", wg.system, wg.name,
                           sorted(set(group_reasons.get(key, []))),
                           f"占位主机 {wg.hosts.placeholder} 尚无端口带标签 "
                           f"{d.PLACEHOLDER_TAG}{wg.hosts.placeholder}，安全组暂不绑定"))
        else:
            nets = [ipaddress.ip_network(c) for c in wg.hosts.cidrs]
            ports = [
                ap for ap in actual.ports
                if proj is not None and ap.project_id == proj.id
                and not ap.device_owner.startswith("network:")
                and any(ip in n for ip in _v4(ap.ips) for n in nets)
            ]
        for ap in ports:
            want_on_port.setdefault(ap.id, set()).add(key)
            port_system[ap.id] = wg.system
    for port in actual.ports:
        current_managed = [gid for gid in port.group_ids if gid in managed_ids]
        wanted_keys = want_on_port.get(port.id, set())
        if not current_managed and not wanted_keys:
            continue
        current_keys = {key_of_group.get(gid, "") for gid in current_managed}
        add_keys = sorted(wanted_keys - current_keys)
        remove_ids = sorted(gid for gid in current_managed
                            if key_of_group.get(gid) not in wanted_keys)
        if not add_keys and not remove_ids:
            continue
        keep = [gid for gid in port.group_ids if gid not in remove_ids]
        system = port_system.get(port.id) or next(
            (group_system[g] for g in current_managed), "")
        label = f"port {port.name or port.id} ({', '.join(port.ips)})"
        reasons = sorted({r for k in add_keys for r in group_reasons.get(k, [])})
        add(Change("update", "binding", system, label, reasons,
                   "绑定/解绑 cgcloud 安全组", id=port.id,
                   before={"groups": sorted(group_by_id[g].name for g in current_managed)},
                   after={"groups": sorted(wanted_groups[k].name for k in wanted_keys)},
                   data={"port_id": port.id, "keep": keep, "add": add_keys}))

    # ---- unmanaged groups in managed projects: reported, never touched
    managed_project_ids = {p.id: s for s, p in managed_projects.items()}
    for g in actual.groups:
        if g.id not in managed_ids and g.project_id in managed_project_ids and g.name != "default":
            add(Change("report", "group", managed_project_ids[g.project_id], g.name, [],
                       "非 cgcloud 管理的安全组：不会修改", id=g.id))

    plan.changes.sort(key=_change_order)
    return plan


_KIND_ORDER = {k: i for i, k in enumerate(("project", "quota", "flavor", "group", "rule",
                                           "binding"))}
_ACTION_ORDER = {a: i for i, a in enumerate(("create", "update", "delete", "pending", "report"))}


def _change_order(c: Change) -> tuple[Any, ...]:
    return (c.system == GLOBAL, c.system, _KIND_ORDER.get(c.kind, 9), _ACTION_ORDER[c.action],
            c.name, c.id or "")


def _quota_target(q: d.Quotas, actual: ActualState) -> dict[str, int]:
    flat = q.flat()
    out: dict[str, int] = {}
    if "compute" in actual.services:
        out.update({k: flat[k] for k in COMPUTE_KEYS})
    if "volume" in actual.services:
        out["gigabytes"] = flat["gigabytes"]
        for tier, gb in q.gigabytes_by_tier.items():
            if tier in actual.volume_types:
                out[f"gigabytes_{tier}"] = gb
    if "network" in actual.services:
        out.update({k: flat[k] for k in NETWORK_KEYS})
    return out


def _ports_text(protocol: str | None, lo: int | None, hi: int | None) -> str:
    if protocol is None:
        return "any"
    if lo is None:
        return protocol
    return f"{protocol}/{lo}" if lo == hi else f"{protocol}/{lo}-{hi}"


def _rule_label(r: d.Rule, groups: dict[str, d.Group], remote: str | None = None) -> str:
    g = groups.get(r.group)
    arrow = "from" if r.direction == "ingress" else "to"
    return (f"{g.name if g else r.group} {r.direction} {_ports_text(r.protocol, r.port_min, r.port_max)} "
            f"{arrow} {remote or r.remote_cidr or r.remote_placeholder}")


def _actual_rule_label(r: ARule, g: AGroup) -> str:
    arrow = "from" if r.direction == "ingress" else "to"
    remote = r.remote_cidr or (f"group:{r.remote_group_id}" if r.remote_group_id
                               else ANY.get(r.ethertype, "any"))
    return f"{g.name} {r.direction} {_ports_text(r.protocol, r.port_min, r.port_max)} {arrow} {remote}"


# --------------------------------------------------------------------------- renderers

_SIGN = {"create": "+", "update": "~", "delete": "-", "pending": "?", "report": "!"}


def _reasons_text(reasons: list[d.Reason]) -> str:
    parts = []
    for r in reasons[:3]:
        parts.append(d.description_for(r)[len(d.DESCRIPTION_PREFIX):] if r.row else r.form)
    more = f" +{len(reasons) - 3}" if len(reasons) > 3 else ""
    return "; ".join(parts) + more


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return (f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
            f"{s['pending']} pending, {s['report']} reported"
            + (f" (cloud {plan.cloud}, now {plan.now})" if plan.cloud else f" (now {plan.now})"))


def render_text(plan: Plan) -> str:
    lines = [summary_line(plan)]
    if not plan.has_changes:
        lines.append("No changes: the cloud matches the approved forms.")
    for system, changes in plan.by_system():
        lines.append("")
        lines.append(f"== {system}")
        for c in changes:
            why = _reasons_text(c.reasons)
            lines.append(f"  {_SIGN[c.action]} {c.kind:8} {c.name}")
            extra = c.detail
            if c.kind in ("quota", "binding", "project") and c.after is not None:
                extra += "  " + _before_after(c)
            lines.append(f"      {extra}" + (f"  [{why}]" if why else ""))
    if plan.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {n.system}: {n.message}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def _before_after(c: Change) -> str:
    after = c.after or {}
    before = c.before or {}
    return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items())


def render_markdown(plan: Plan) -> str:
    out = [f"### {summary_line(plan)}", ""]
    if not plan.has_changes:
        out += ["No changes: the cloud matches the approved forms.", ""]
    for system, changes in plan.by_system():
        out += [f"#### {system}", "", "| | kind | resource | detail | reason |", "|---|---|---|---|---|"]
        for c in changes:
            detail = c.detail
            if c.kind in ("quota", "binding") and c.after is not None:
                detail += " " + _before_after(c)
            cells = [_SIGN[c.action], c.kind, f"`{c.name}`", detail, _reasons_text(c.reasons)]
            out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
        out.append("")
    if plan.notes:
        out += ["#### Notes", ""] + [f"- {n.system}: {n.message}" for n in plan.notes] + [""]
    return "\n".join(out)


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def render(plan: Plan, fmt: str) -> str:
    return {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt](plan)

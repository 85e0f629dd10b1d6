"""The diff of security groups, their rules and which ports carry them.

cgcloud's groups are found by tag (older applies) or by the key marker of their
description inside a managed project (what a bulk create writes in one call:
nothing can half-fail). A rule inside a cgcloud group that no form asks for is
drift → delete; a changed rule is a delete plus a create (rules cannot be updated).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cgcloud import desired as d
from cgcloud import formats
from cgcloud.actual import AGroup, APort, ARule, _tag_value, group_identity, managed_projects_by_id
from cgcloud.i18n import _
from cgcloud.plan.changes import ANY, Change, RuleSpec, _rule_key, _v4
from cgcloud.plan.context import Diff

WantedRules = dict[tuple[Any, ...], tuple[d.Rule, str | None]]


def groups(x: Diff) -> None:
    owned = managed_projects_by_id(x.actual.projects)
    rules_per_group: dict[str, int] = {}
    for ar in x.actual.rules:
        rules_per_group[ar.group_id] = rules_per_group.get(ar.group_id, 0) + 1
    found: dict[str, list[AGroup]] = {}
    for g in x.actual.groups:
        ident = group_identity(g, owned)
        if ident is None:
            continue
        key, system = ident
        x.group_by_id[g.id] = g
        x.group_system[g.id] = system
        found.setdefault(key, []).append(g)
    for key, same in found.items():
        # a duplicate (a create retried after a lost answer): keep the fullest one
        same.sort(key=lambda g: (-rules_per_group.get(g.id, 0), g.id))
        x.managed_groups[key] = same[0]
        for g in same[1:]:
            x.add(
                Change(
                    "delete",
                    "group",
                    x.group_system[g.id],
                    g.name,
                    [],
                    _("重复的 cgcloud 安全组"),
                    id=g.id,
                    data={"id": g.id},
                )
            )
    x.wanted_groups = {
        g.key: g for g in x.state.groups if g.system not in x.blocked and x.actual.covers(g.system)
    }
    for r in x.state.rules:
        x.group_reasons.setdefault(r.group, []).extend(r.reasons)
    for key, wg in x.wanted_groups.items():
        if key not in x.managed_groups:
            reasons = sorted(set(x.group_reasons.get(key, [])))
            x.add(
                Change(
                    "create",
                    "group",
                    wg.system,
                    wg.name,
                    reasons,
                    _("新建安全组（主机 {hosts}）").format(hosts=wg.hosts.label),
                    after={"hosts": wg.hosts.to_dict()},
                    data={"key": key, "name": wg.name, "description": wg.description},
                )
            )
    for key, ag in sorted(x.managed_groups.items(), key=lambda kv: kv[1].name):
        if key not in x.wanted_groups:
            x.add(
                Change(
                    "delete",
                    "group",
                    x.group_system[ag.id],
                    ag.name,
                    [],
                    _("已没有生效的网络策略行使用此安全组"),
                    id=ag.id,
                    data={"id": ag.id},
                )
            )
    for port in x.actual.ports:
        name = _tag_value(port.tags, d.PLACEHOLDER_TAG)
        if name:
            x.placeholder_ports.setdefault(name, []).append(port)


def rules(x: Diff) -> None:
    wanted = _wanted_rules(x)
    key_of_group = x.key_of_group
    for ar in x.actual.rules:
        gkey = key_of_group.get(ar.group_id)
        if gkey is None:
            continue  # an unmanaged group (never touched) or a duplicate (deleted whole)
        if gkey not in x.wanted_groups:
            continue  # the group goes, and its rules with it
        if ar.remote_group_id:
            k: tuple[Any, ...] = ("remote-group", ar.id)
        else:
            k = _rule_key(
                gkey,
                ar.direction,
                ar.ethertype,
                ar.protocol,
                ar.port_min,
                ar.port_max,
                ar.remote_cidr,
                ar.description,
            )
        if wanted.pop(k, None) is None:
            _unwanted(x, ar, x.managed_groups[gkey])
    for r, remote in wanted.values():
        spec = RuleSpec(
            r.group,
            r.direction,
            r.ethertype,
            r.protocol,
            r.port_min,
            r.port_max,
            remote or ANY[r.ethertype],
            r.description,
        )
        x.add(
            Change(
                "create",
                "rule",
                r.system,
                _rule_label(r, x.wanted_groups, remote),
                r.reasons,
                _("新建规则"),
                after=formats.plan_rule(
                    spec.direction,
                    spec.ethertype,
                    spec.protocol,
                    spec.port_min,
                    spec.port_max,
                    spec.remote_cidr,
                    spec.description,
                ),
                data={"rule": spec},
            )
        )


def _wanted_rules(x: Diff) -> WantedRules:
    """Rule tuple → (rule, remote) for every rule the forms want now; a placeholder's
    remote is each of its ports' addresses (pending while it has none)."""
    out: WantedRules = {}
    for r in x.state.rules:
        if r.system in x.blocked or not x.actual.covers(r.system):
            continue
        remotes: list[str | None]
        if r.remote_placeholder:
            ports = x.resolve_placeholder(r.system, r.remote_placeholder)
            remotes = [f"{ip}/32" for p in ports for ip in _v4(p.ips)]
            if not remotes:
                x.add(
                    Change(
                        "pending",
                        "rule",
                        r.system,
                        _rule_label(r, x.wanted_groups),
                        r.reasons,
                        _("占位主机 {name} 尚无端口带标签 {tag}，解析后再开通").format(
                            name=r.remote_placeholder,
                            tag=f"{d.PLACEHOLDER_TAG}{r.remote_placeholder}",
                        ),
                    )
                )
                continue
        else:
            remotes = [r.remote_cidr]
        for remote in remotes:
            wk = _rule_key(
                r.group,
                r.direction,
                r.ethertype,
                r.protocol,
                r.port_min,
                r.port_max,
                remote,
                r.description,
            )
            out[wk] = (r, remote)
    return out


def _unwanted(x: Diff, ar: ARule, ag: AGroup) -> None:
    ours = d.parse_description(ar.description)
    detail = (
        _("规则已不再生效或已修改（原依据 {form} 第{row}行，至 {until}）").format(
            form=ours.form, row=ours.row, until=ours.until
        )
        if ours
        else _("漂移：cgcloud 管理的安全组中有人工添加的规则")
    )
    x.add(
        Change(
            "delete",
            "rule",
            x.group_system[ag.id],
            _actual_rule_label(ar, ag),
            [ours] if ours else [],
            detail,
            id=ar.id,
            data={"id": ar.id},
        )
    )


def bindings(x: Diff) -> None:
    """Which cgcloud groups each port should carry: by the group's addresses, or by
    the placeholder's mark on the port."""
    want_on_port: dict[str, set[str]] = {}
    port_system: dict[str, str] = {}
    for key, wg in x.wanted_groups.items():
        for ap in _hosts_of(x, key, wg):
            want_on_port.setdefault(ap.id, set()).add(key)
            port_system[ap.id] = wg.system
    key_of_group = x.key_of_group
    for port in x.actual.ports:
        current_managed = [gid for gid in port.group_ids if gid in x.group_by_id]
        wanted_keys = want_on_port.get(port.id, set())
        if not current_managed and not wanted_keys:
            continue
        current_keys = {key_of_group.get(gid, "") for gid in current_managed}
        add_keys = sorted(wanted_keys - current_keys)
        remove_ids = sorted(
            gid for gid in current_managed if key_of_group.get(gid) not in wanted_keys
        )
        if not add_keys and not remove_ids:
            continue
        keep = [gid for gid in port.group_ids if gid not in remove_ids]
        system = port_system.get(port.id) or next((x.group_system[g] for g in current_managed), "")
        label = f"port {port.name or port.id} ({', '.join(port.ips)})"
        reasons = sorted({r for k in add_keys for r in x.group_reasons.get(k, [])})
        x.add(
            Change(
                "update",
                "binding",
                system,
                label,
                reasons,
                _("绑定/解绑 cgcloud 安全组"),
                id=port.id,
                before={"groups": sorted(x.group_by_id[g].name for g in current_managed)},
                after={"groups": sorted(x.wanted_groups[k].name for k in wanted_keys)},
                data={"port_id": port.id, "keep": keep, "add": add_keys},
            )
        )


def _hosts_of(x: Diff, key: str, wg: d.Group) -> list[APort]:
    """The ports group ``wg`` belongs on (pending while its placeholder has none)."""
    if wg.hosts.placeholder:
        ports = x.resolve_placeholder(wg.system, wg.hosts.placeholder)
        if not ports:
            x.add(
                Change(
                    "pending",
                    "binding",
                    wg.system,
                    wg.name,
                    sorted(set(x.group_reasons.get(key, []))),
                    _("占位主机 {name} 尚无端口带标签 {tag}，安全组暂不绑定").format(
                        name=wg.hosts.placeholder,
                        tag=f"{d.PLACEHOLDER_TAG}{wg.hosts.placeholder}",
                    ),
                )
            )
        return ports
    proj = x.project_of.get(wg.system)
    if proj is None:
        return []
    nets = [ipaddress.ip_network(c) for c in wg.hosts.cidrs]
    return [
        ap
        for ap in x.actual.ports
        if ap.project_id == proj.id
        and not ap.infrastructure
        and any(ip in n for ip in _v4(ap.ips) for n in nets)
    ]


def unmanaged_groups(x: Diff) -> None:
    """Groups in managed projects that are not cgcloud's: reported, never touched."""
    managed_project_ids = {p.id: s for s, p in x.managed_projects.items()}
    for g in x.actual.groups:
        if (
            g.id not in x.group_by_id
            and g.project_id in managed_project_ids
            and g.name != "default"
        ):
            x.add(
                Change(
                    "report",
                    "group",
                    managed_project_ids[g.project_id],
                    g.name,
                    [],
                    _("非 cgcloud 管理的安全组：不会修改"),
                    id=g.id,
                )
            )


def _ports_text(protocol: str | None, lo: int | None, hi: int | None) -> str:
    if protocol is None:
        return "any"
    if lo is None:
        return protocol
    return f"{protocol}/{lo}" if lo == hi else f"{protocol}/{lo}-{hi}"


def _rule_label(r: d.Rule, groups: dict[str, d.Group], remote: str | None = None) -> str:
    g = groups.get(r.group)
    arrow = "from" if r.direction == "ingress" else "to"
    return (
        f"{g.name if g else r.group} {r.direction} "
        f"{_ports_text(r.protocol, r.port_min, r.port_max)} "
        f"{arrow} {remote or r.remote_cidr or r.remote_placeholder}"
    )


def _actual_rule_label(r: ARule, g: AGroup) -> str:
    arrow = "from" if r.direction == "ingress" else "to"
    remote = r.remote_cidr or (
        f"group:{r.remote_group_id}" if r.remote_group_id else ANY.get(r.ethertype, "any")
    )
    return (
        f"{g.name} {r.direction} {_ports_text(r.protocol, r.port_min, r.port_max)} {arrow} {remote}"
    )

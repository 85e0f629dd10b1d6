"""The Pulumi program body: a compiled `DesiredState` declared as pulumi-openstack resources.

What it declares, per system with an approved ResourceApplication for the year:
a Keystone project (same name, description and tags as the OpenStack engine),
Nova / Cinder (total and per storage tier) / Neutron quota sets, the flavors, one
security group per group key and one `SecGroupRule` per rule, with the same
Neutron tuple and `description` marker. Rows outside their window at `now` are
absent from the state, so a scheduled `pulumi up` closes an expired high-risk
rule (docs/pulumi.md).

What only the cloud knows — which ports carry a placeholder tag, which ports sit
in a group's CIDRs — comes in as a `Resolution`; without one, rules whose remote
is a placeholder and port bindings are left out and listed in
`Declared.unresolved` (never guessed).

Why one resource per rule (benchmarks/README.md `## pulumi`): it is the only
model in which Pulumi's own diff, preview and `pulumi import` see each Neutron
rule; the measured program cost at 100 systems / 5,000 rows is recorded there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_openstack as openstack

from cgcloud import desired as d
from cgcloud.engines.pulumi import names
from cgcloud.i18n import _
from cgcloud.plan import ANY, GLOBAL, _ports_text


@dataclass(frozen=True, slots=True)
class Resolution:
    """Facts read from the cloud at program time.

    ``placeholder_ips``: (system, placeholder) → the IPv4 addresses of the ports in
    that system's project tagged ``cgcloud:placeholder=<name>``;
    ``bindings``: port id → the group keys that port must carry.
    """

    placeholder_ips: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)
    bindings: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Known:
    """What cgcloud knows of a declared resource, so that Pulumi's steps on it can be shown
    in cgcloud's plan (engines/pulumi/translate.py) with its system and its forms' rows."""

    kind: str  # project | quota | flavor | group | rule | binding: the plan's kinds
    system: str
    label: str
    reasons: tuple[d.Reason, ...] = ()


@dataclass(slots=True)
class Declared:
    """The resources declared, by Pulumi name, and what could not be declared yet."""

    resources: dict[str, pulumi.CustomResource] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    known: dict[str, Known] = field(default_factory=dict)

    def add(
        self, name: str, resource: pulumi.CustomResource, known: Known
    ) -> pulumi.CustomResource:
        if name in self.resources:
            raise ValueError(f"duplicate Pulumi resource name {name}")
        self.resources[name] = resource
        self.known[name] = known
        return resource


def declare(
    state: d.DesiredState,
    resolution: Resolution | None = None,
    *,
    volume_types: Collection[str] | None = None,
    provider: pulumi.ProviderResource | None = None,
) -> Declared:
    """Declare every resource of ``state``; ``volume_types`` limits per-tier Cinder quotas
    to the tiers the cloud has (None: every tier), as the OpenStack engine does."""
    resolution = resolution or Resolution()
    out = Declared()
    base = pulumi.ResourceOptions(provider=provider) if provider is not None else None
    projects: dict[str, openstack.identity.Project] = {}
    rule_quota: dict[str, openstack.networking.QuotaV2] = {}
    for p in state.projects:
        proj = openstack.identity.Project(
            names.project(p.system),
            name=p.name,
            description=p.description,
            tags=list(p.tags),
            domain_id="default",
            enabled=True,
            opts=base,
        )
        known = Known("project", p.system, p.name, tuple(p.reasons))
        projects[p.system] = out.add(names.project(p.system), proj, known)  # type: ignore[assignment]
        rule_quota[p.system] = _quotas(out, p, proj, volume_types, base)
    for fl in state.flavors:
        out.add(
            names.flavor(fl.name),
            openstack.compute.Flavor(
                names.flavor(fl.name),
                name=fl.name,
                vcpus=fl.vcpus,
                ram=fl.ram_mb,
                disk=fl.disk_gb,
                is_public=True,
                description="cgcloud: " + "、".join(sorted({r.form for r in fl.reasons})),
                opts=base,
            ),
            Known("flavor", GLOBAL, fl.name, tuple(fl.reasons)),
        )
    groups: dict[str, openstack.networking.SecGroup] = {}
    reasons: dict[str, tuple[d.Reason, ...]] = {}
    for r in state.rules:
        reasons[r.group] = (*reasons.get(r.group, ()), *r.reasons)
    for g in state.groups:
        group = openstack.networking.SecGroup(
            names.group(g.key),
            name=g.name,
            description=g.description,
            tenant_id=projects[g.system].id,
            delete_default_rules=True,  # as the OpenStack engine: only the rows' rules
            opts=base,
        )
        known = Known("group", g.system, g.name, reasons.get(g.key, ()))
        groups[g.key] = out.add(names.group(g.key), group, known)  # type: ignore[assignment]
    group_names = {g.key: g.name for g in state.groups}
    for r in state.rules:
        for remote in _remotes(r, resolution, out):
            out.add(
                names.rule(r, remote),
                openstack.networking.SecGroupRule(
                    names.rule(r, remote),
                    direction=r.direction,
                    ethertype=r.ethertype,
                    protocol=r.protocol,
                    port_range_min=r.port_min,
                    port_range_max=r.port_max,
                    remote_ip_prefix=remote,
                    security_group_id=groups[r.group].id,
                    tenant_id=projects[r.system].id,
                    description=r.description,
                    # the rule quota is raised before a rule counts against it
                    opts=pulumi.ResourceOptions.merge(
                        base, pulumi.ResourceOptions(depends_on=[rule_quota[r.system]])
                    ),
                ),
                Known("rule", r.system, _rule_label(r, group_names, remote), tuple(r.reasons)),
            )
    _bindings(out, state, resolution, groups, base)
    return out


def _quotas(
    out: Declared,
    p: d.Project,
    proj: openstack.identity.Project,
    volume_types: Collection[str] | None,
    base: pulumi.ResourceOptions | None,
) -> openstack.networking.QuotaV2:
    q = p.quotas
    known = Known("quota", p.system, p.name, tuple(p.reasons))
    out.add(
        names.quota(p.system, "compute"),
        openstack.compute.QuotaSetV2(
            names.quota(p.system, "compute"),
            project_id=proj.id,
            instances=q.instances,
            cores=q.cores,
            ram=q.ram_mb,
            opts=base,
        ),
        known,
    )
    tiers = {
        f"gigabytes_{tier}": str(gb)  # the provider takes the map as strings
        for tier, gb in sorted(q.gigabytes_by_tier.items())
        if volume_types is None or tier in volume_types
    }
    out.add(
        names.quota(p.system, "volume"),
        openstack.blockstorage.QuoteSetV3(
            names.quota(p.system, "volume"),
            project_id=proj.id,
            gigabytes=q.gigabytes,
            volume_type_quota=tiers or None,
            opts=base,
        ),
        known,
    )
    network = openstack.networking.QuotaV2(
        names.quota(p.system, "network"),
        project_id=proj.id,
        floatingip=q.floating_ips,
        security_group=q.security_groups,
        security_group_rule=q.security_group_rules,
        opts=base,
    )
    out.add(names.quota(p.system, "network"), network, known)
    return network


def _remotes(r: d.Rule, resolution: Resolution, out: Declared) -> list[str]:
    if not r.remote_placeholder:
        return [r.remote_cidr or ANY[r.ethertype]]
    ips = resolution.placeholder_ips.get((r.system, r.remote_placeholder), ())
    if not ips:
        out.unresolved.append(
            _("{system}: {rule} — 占位主机 {placeholder} 尚无端口，规则暂不声明").format(
                system=r.system, rule=r.description, placeholder=r.remote_placeholder
            )
        )
    return [f"{ip}/32" for ip in ips]


def _rule_label(r: d.Rule, group_names: Mapping[str, str], remote: str) -> str:
    """As cgcloud's plan names a rule: its group, direction, ports and remote."""
    group = group_names.get(r.group, r.group)
    arrow = "from" if r.direction == "ingress" else "to"
    ports = _ports_text(r.protocol, r.port_min, r.port_max)
    return f"{group} {r.direction} {ports} {arrow} {remote}"


def _bindings(
    out: Declared,
    state: d.DesiredState,
    resolution: Resolution,
    groups: Mapping[str, openstack.networking.SecGroup],
    base: pulumi.ResourceOptions | None,
) -> None:
    bound = {k for keys in resolution.bindings.values() for k in keys}
    for g in state.groups:
        if g.key not in bound:
            out.unresolved.append(
                _("{system}: {group} — 尚无端口可绑定").format(system=g.system, group=g.name)
            )
    system_of = {g.key: g.system for g in state.groups}
    name_of = {g.key: g.name for g in state.groups}
    for port_id, keys in sorted(resolution.bindings.items()):
        ids: list[Any] = [groups[k].id for k in sorted(set(keys))]
        out.add(
            names.binding(port_id),
            openstack.networking.PortSecGroupAssociate(
                names.binding(port_id),
                port_id=port_id,
                security_group_ids=ids,
                # add cgcloud's groups, keep the port's other groups (as the engine does)
                enforce=False,
                opts=base,
            ),
            Known(
                "binding",
                system_of.get(keys[0], GLOBAL) if keys else GLOBAL,
                f"port {port_id}: " + _("、").join(name_of.get(k, k) for k in sorted(set(keys))),
            ),
        )

"""What the program needs from the cloud: placeholder addresses and port bindings.

Ports belong to servers made outside cgcloud, so Pulumi does not own them; the
program reads them at run time (`pulumi preview` too) and decides from them, with
the core's own logic, what the OpenStack engine would: the bindings come from
`plan.diff` run against the cloud's projects and ports with no cgcloud groups on
them (so every wanted binding shows as one to add) — no second copy of the
binding rules (which ports a CIDR or placeholder group selects) lives here.
"""

from __future__ import annotations

import dataclasses

from cgcloud import desired as d
from cgcloud import plan
from cgcloud.engines.pulumi.program import Resolution


def resolution(state: d.DesiredState, actual: plan.ActualState) -> Resolution:
    """The placeholder addresses and port bindings ``state`` implies on ``actual``."""
    bare = dataclasses.replace(
        actual,
        groups=[],
        rules=[],
        foreign_rules=[],
        ports=[dataclasses.replace(p, group_ids=[]) for p in actual.ports],
        scope=None,
    )
    bindings = {
        c.data["port_id"]: list(c.data["add"])
        for c in plan.diff(state, bare).changes
        if c.kind == "binding" and c.action == "update"
    }
    project_of = {
        plan._tag_value(p.tags, d.SYSTEM_TAG): p.id
        for p in actual.projects
        if plan.is_managed(p.tags)
    }
    ips: dict[tuple[str, str], list[str]] = {}
    for r in state.rules:
        if r.remote_placeholder and (r.system, r.remote_placeholder) not in ips:
            tag = d.PLACEHOLDER_TAG + r.remote_placeholder
            ips[(r.system, r.remote_placeholder)] = sorted(
                str(ip)
                for port in actual.ports
                if tag in port.tags and port.project_id == project_of.get(r.system)
                for ip in plan._v4(port.ips)
            )
    return Resolution(placeholder_ips={k: v for k, v in ips.items() if v}, bindings=bindings)

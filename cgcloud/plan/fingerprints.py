"""Rule fingerprints: a short hash of the groups and rules a system's project should hold,
recorded on the project so that `enforce` skips the systems whose rules are settled."""

from __future__ import annotations

import hashlib

from cgcloud import desired as d
from cgcloud.actual import APort, AProject, _tag_value, is_managed, managed_projects_by_id
from cgcloud.plan.changes import _rule_key, _v4


def _digest(items: list[str]) -> str:
    h = hashlib.sha256(b"cgcloud-rules/v1")
    for item in sorted(items):
        h.update(item.encode() + b"\n")
    return h.hexdigest()[:16]


EMPTY_FINGERPRINT = _digest([])  # a managed project the forms want nothing in


def placeholders(state: d.DesiredState) -> list[str]:
    """The placeholder names the state's groups and rules use."""
    return sorted(
        {g.hosts.placeholder for g in state.groups if g.hosts.placeholder}
        | {r.remote_placeholder for r in state.rules if r.remote_placeholder}
    )


def placeholder_addresses(
    ports: list[APort], projects: list[AProject]
) -> dict[tuple[str, str], list[str]]:
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


def fingerprints(
    state: d.DesiredState,
    resolved: dict[tuple[str, str], list[str]] | None = None,
) -> dict[str, str | None]:
    """System → a short hash of the groups and rules the forms want in its project at
    ``state.now``: group keys, each rule's Neutron tuple with its ``until`` description,
    and what each placeholder resolves to (``resolved``, from `placeholder_addresses`).

    Recorded on the project (``AProject.fingerprints``) once the cloud holds exactly that, it
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
        remote = (
            placeholder(r.system, r.remote_placeholder) if r.remote_placeholder else r.remote_cidr
        )
        key = _rule_key(
            r.group,
            r.direction,
            r.ethertype,
            r.protocol,
            r.port_min,
            r.port_max,
            remote,
            r.description,
        )
        items.setdefault(r.system, []).append("rule " + "\t".join(map(str, key)))
    return {system: None if system in unsure else _digest(rows) for system, rows in items.items()}


def settled(fps: dict[str, str | None], projects: list[AProject]) -> set[str]:
    """Systems whose managed project records exactly the fingerprint wanted now: the
    cloud held these rules when it was recorded, and the forms still want the same."""
    out = set()
    for proj in projects:
        system = _tag_value(proj.tags, d.SYSTEM_TAG)
        if not is_managed(proj.tags) or system is None:
            continue
        want = fps.get(system, EMPTY_FINGERPRINT)
        if want is not None and proj.fingerprints == [want]:
            out.add(system)
    return out

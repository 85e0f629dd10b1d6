"""Stable Pulumi resource names, derived from the same identity keys as the OpenStack engine.

Why a module of its own: a Pulumi resource's name is part of its URN, and a new
name means delete + create. Names therefore come only from what identifies a
thing in the cloud — the system name, the flavor spec, the group key
(`desired.group_key`: system + host set) and a rule's Neutron tuple — never from
a form id, a file name or a row number, so renaming a form file or reordering
rows changes no name (a rule whose description changes is replaced in place,
exactly as the OpenStack engine deletes and re-creates it: Neutron rules cannot
be updated).
"""

from __future__ import annotations

import hashlib

from cgcloud import desired as d


def _digest(*parts: object) -> str:
    raw = "\t".join("" if p is None else str(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def project(system: str) -> str:
    return f"project-{system}"


def quota(system: str, service: str) -> str:
    return f"quota-{service}-{system}"


def flavor(name: str) -> str:
    return f"flavor-{name}"


def group(key: str) -> str:
    return f"group-{key}"


def rule(r: d.Rule, remote: str | None) -> str:
    """The rule's group key and its Neutron tuple with the resolved remote."""
    return rule_of(r.group, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, remote)


def rule_of(
    group_key: str,
    direction: str,
    ethertype: str,
    protocol: str | None,
    port_min: int | None,
    port_max: int | None,
    remote: str | None,
) -> str:
    """The same name from a Neutron rule's tuple, so a rule read from the cloud is named
    as the program declares it (the bulk import file, engines/pulumi/importfile.py)."""
    digest = _digest(direction, ethertype, protocol, port_min, port_max, remote)
    return f"rule-{group_key}-{digest}"


def binding(port_id: str) -> str:
    return f"binding-{port_id}"

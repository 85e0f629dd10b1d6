"""What a plan is made of: changes with reasons, fingerprints to record, the plan itself,
and the rule tuple both the diff and the fingerprints compare."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cgcloud import desired as d
from cgcloud.i18n import N_

# the "system" of changes that belong to no one system (flavors): stable in JSON, shown
# translated (render._system)
GLOBAL = N_("(全局)")
ACTIONS = ("create", "update", "delete", "pending", "report")
CHANGE_ACTIONS = ("create", "update", "delete")
COMPUTE_KEYS = ("instances", "cores", "ram_mb")
NETWORK_KEYS = ("floating_ips", "security_groups", "security_group_rules")
ANY = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule to create, in cgcloud's words: its group by cgcloud's key, the tuple a
    cloud compares, one remote CIDR and the description that labels it. An engine turns
    it into its own request (``Change.data["rule"]`` of a rule create)."""

    group_key: str
    direction: str
    ethertype: str
    protocol: str | None
    port_min: int | None
    port_max: int | None
    remote_cidr: str
    description: str


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

    ``project_id`` None: the plan creates the project. ``old``: the fingerprints the
    project records now (removed first), ``new``: the one to record."""

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


def _rule_key(
    group_id: str,
    direction: str,
    ethertype: str,
    protocol: str | None,
    pmin: int | None,
    pmax: int | None,
    remote: str | None,
    description: str,
) -> tuple[Any, ...]:
    proto = None if protocol in (None, "", "any") else str(protocol).lower()
    if proto is None:
        pmin = pmax = None
    return (
        group_id,
        direction,
        ethertype,
        proto,
        pmin,
        pmax,
        remote or ANY[ethertype],
        description or "",
    )

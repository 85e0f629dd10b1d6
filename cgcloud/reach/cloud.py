"""The live cloud as reach facts: which ingress rules reach which host, from where.

One entry point on purpose (``view``): it is the only code of `cgcloud reach` that
knows the shape of the engine's actual state (``plan.ActualState``: managed and foreign groups, their
rules, the ports they are bound to), so it can move with that model. Everything after
it (``compare.py``) works on ``CloudView`` alone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cgcloud import desired, grammar
from cgcloud import plan as actual_state

Ranges = tuple[tuple[int, int], ...]
_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp"}  # Neutron accepts numbers too


@dataclass(frozen=True, slots=True)
class Host:
    """A cloud port's address: the host a rule on that port protects."""

    ip: int
    port_id: str
    port_name: str
    project_id: str
    system: str  # the cgcloud system of the port's project ("" when not managed)


@dataclass(frozen=True, slots=True)
class CloudFact:
    """One ingress rule on one host: who (``remote``) may reach it on what."""

    host: Host
    group_id: str
    group_name: str
    managed: bool  # the group is cgcloud's
    rule_id: str
    protocol: str | None  # None: any protocol
    port_min: int | None
    port_max: int | None
    remote: Ranges  # IPv4 sources (merged); empty for an IPv6 rule
    remote_text: str
    ipv6: bool = False
    form: str = ""  # the row cgcloud wrote the rule for (from its description)
    row: int = 0

    @property
    def ports_text(self) -> str:
        if self.protocol is None:
            return "/"
        if self.protocol == "icmp":
            return "ICMP"
        if self.port_min is None:
            return f"{self.protocol.upper()}1-65535"
        span = (
            f"{self.port_min}"
            if self.port_min == self.port_max
            else f"{self.port_min}-{self.port_max}"
        )
        return f"{self.protocol.upper()}{span}"


@dataclass(slots=True)
class CloudView:
    facts: list[CloudFact] = field(default_factory=list)
    hosts: dict[int, list[Host]] = field(default_factory=dict)
    # (system, placeholder) → the addresses of the ports that carry its tag
    placeholders: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def view(actual: actual_state.ActualState) -> CloudView:
    """Every IPv4 host (a port's fixed address; the cloud's own router/DHCP ports
    excluded) with every ingress rule of every group bound to its port, managed or not.
    A rule whose remote is a group stands for that group's members' addresses (the
    host itself left out: a host reaching itself is not reach)."""
    out = CloudView()
    owned = actual_state.managed_projects_by_id(actual.projects)
    members = _Members()
    hosted = _hosts(actual, owned, out, members)
    tagged = actual_state.placeholder_addresses(actual.ports, actual.projects)
    for (system, name), texts in tagged.items():
        out.placeholders[(system, name)] = [grammar.ip_to_int(t) for t in texts]
    groups = {g.id: g for g in actual.groups}
    managed_ids = {g.id for g in actual.groups if actual_state.group_identity(g, owned)}
    by_group: dict[str, list[actual_state.ARule]] = {}
    for r in (*actual.rules, *actual.foreign_rules):
        if r.direction == "ingress":
            by_group.setdefault(r.group_id, []).append(r)
    for host, gids in hosted:
        for gid in gids:
            g = groups.get(gid)
            for r in by_group.get(gid, []):
                remote = _remote(r, host, groups, members)
                if remote is not None:
                    name = g.name if g else gid
                    out.facts.append(_fact(host, gid, name, gid in managed_ids, r, *remote))
    return out


@dataclass(slots=True)
class _Members:
    """The addresses of the ports that carry each group (a remote group's members)."""

    v4: dict[str, list[int]] = field(default_factory=dict)
    v6: dict[str, list[str]] = field(default_factory=dict)


def _hosts(
    actual: actual_state.ActualState, owned: dict[str, str], out: CloudView, members: _Members
) -> list[tuple[Host, list[str]]]:
    """The IPv4 hosts (into ``out.hosts``) with their ports' groups, and each group's
    members; the cloud's own ports are no hosts."""
    hosted: list[tuple[Host, list[str]]] = []
    for port in actual.ports:
        if port.infrastructure:
            continue
        for text in port.ips:
            addr = ipaddress.ip_address(text)
            for gid in port.group_ids:
                if addr.version == 4:
                    members.v4.setdefault(gid, []).append(int(addr))
                else:
                    members.v6.setdefault(gid, []).append(text)
            if addr.version != 4:
                continue
            host = Host(
                int(addr), port.id, port.name, port.project_id, owned.get(port.project_id, "")
            )
            out.hosts.setdefault(host.ip, []).append(host)
            hosted.append((host, port.group_ids))
    return hosted


def _remote(
    r: actual_state.ARule, host: Host, groups: dict[str, Any], members: _Members
) -> tuple[Ranges, str, bool] | None:
    """Who the rule lets in (IPv4 ranges, how to show it, IPv6?); None when a remote
    group has no other member (nobody reaches the host through it)."""
    ipv6 = r.ethertype == "IPv6"
    gid = r.remote_group_id
    if gid:
        name = groups[gid].name if gid in groups else gid
        if ipv6:
            return ((), f"group {name}", True) if members.v6.get(gid) else None
        others = [ip for ip in members.v4.get(gid, []) if ip != host.ip]
        if not others:
            return None
        return (
            grammar.merge_ranges([(ip, ip) for ip in others]),
            f"group {name} ({len(others)})",
            False,
        )
    if ipv6:
        return (), r.remote_cidr or "::/0", True
    net = ipaddress.ip_network(r.remote_cidr or "0.0.0.0/0", strict=False)
    return ((int(net.network_address), int(net.broadcast_address)),), str(net), False


def _fact(
    host: Host,
    gid: str,
    group_name: str,
    managed: bool,
    r: actual_state.ARule,
    remote: Ranges,
    text: str,
    ipv6: bool,
) -> CloudFact:
    reason = desired.parse_description(r.description)
    proto = None if r.protocol in (None, "", "any") else str(r.protocol).lower()
    proto = _PROTOCOL_NUMBERS.get(proto or "", proto)
    return CloudFact(
        host=host,
        group_id=gid,
        group_name=group_name,
        managed=managed,
        rule_id=r.id,
        protocol=proto,
        port_min=r.port_min if proto in ("tcp", "udp") else None,
        port_max=r.port_max if proto in ("tcp", "udp") else None,
        remote=remote,
        remote_text=text,
        ipv6=ipv6,
        form=reason.form if reason else "",
        row=reason.row if reason else 0,
    )

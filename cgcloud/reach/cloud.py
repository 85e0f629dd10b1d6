"""The live cloud as reach facts: which ingress rules reach which host, from where.

One function on purpose: it is the only code of `cgcloud reach` that knows the shape
of the engine's actual state (``plan.ActualState``: managed and foreign groups, their
rules, the ports they are bound to), so it can move with that model. Everything after
it (``compare.py``) works on ``CloudView`` alone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

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


def view(actual: actual_state.ActualState) -> CloudView:  # noqa: C901 - landed before C901 (issue 12); to split
    """Every IPv4 host (a port's fixed address; router/DHCP ports excluded) with every
    ingress rule of every group bound to its port, managed or not. A rule whose remote
    is a group stands for that group's members' addresses (the host itself left out:
    a host reaching itself is not reach)."""
    out = CloudView()
    owned = actual_state.managed_projects_by_id(actual.projects)
    groups = {g.id: g for g in actual.groups}
    managed_ids = {g.id for g in actual.groups if actual_state.group_identity(g, owned)}
    members: dict[str, list[int]] = {}
    members6: dict[str, list[str]] = {}
    hosted: list[tuple[Host, list[str]]] = []
    for port in actual.ports:
        if port.infrastructure:
            continue
        for text in port.ips:
            addr = ipaddress.ip_address(text)
            for gid in port.group_ids:
                if addr.version == 4:
                    members.setdefault(gid, []).append(int(addr))
                else:
                    members6.setdefault(gid, []).append(text)
            if addr.version != 4:
                continue
            host = Host(
                int(addr), port.id, port.name, port.project_id, owned.get(port.project_id, "")
            )
            out.hosts.setdefault(host.ip, []).append(host)
            hosted.append((host, port.group_ids))
    tagged = actual_state.placeholder_addresses(actual.ports, actual.projects)
    for (system, name), texts in tagged.items():
        out.placeholders[(system, name)] = [grammar.ip_to_int(t) for t in texts]
    by_group: dict[str, list[actual_state.ARule]] = {}
    for r in (*actual.rules, *actual.foreign_rules):
        if r.direction == "ingress":
            by_group.setdefault(r.group_id, []).append(r)
    for host, gids in hosted:
        for gid in gids:
            g = groups.get(gid)
            for r in by_group.get(gid, []):
                ipv6 = r.ethertype == "IPv6"
                if r.remote_group_id:
                    if ipv6:
                        if not members6.get(r.remote_group_id):
                            continue
                        remote: Ranges = ()
                        text = f"group {groups[r.remote_group_id].name if r.remote_group_id in groups else r.remote_group_id}"
                    else:
                        others = [ip for ip in members.get(r.remote_group_id, []) if ip != host.ip]
                        if not others:
                            continue
                        remote = grammar.merge_ranges([(ip, ip) for ip in others])
                        name = (
                            groups[r.remote_group_id].name
                            if r.remote_group_id in groups
                            else r.remote_group_id
                        )
                        text = f"group {name} ({len(others)})"
                elif ipv6:
                    remote, text = (), r.remote_cidr or "::/0"
                else:
                    net = ipaddress.ip_network(r.remote_cidr or "0.0.0.0/0", strict=False)
                    remote = ((int(net.network_address), int(net.broadcast_address)),)
                    text = str(net)
                reason = desired.parse_description(r.description)
                proto = None if r.protocol in (None, "", "any") else str(r.protocol).lower()
                proto = _PROTOCOL_NUMBERS.get(proto or "", proto)
                out.facts.append(
                    CloudFact(
                        host=host,
                        group_id=gid,
                        group_name=g.name if g else gid,
                        managed=gid in managed_ids,
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
                )
    return out

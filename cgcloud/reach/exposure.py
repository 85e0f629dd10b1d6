"""`cgcloud reach --exposed`: what external networks reach, per system.

External means every non-internal zone of the site model (互联网公网, 政务外网骨干网,
专线网络…). Per system: the rows in force from each of them, the public IPs those rows
need (one per distinct target host reached from 互联网公网, as 附件2 注4 and rule
CG320 count them) against the public IPs approved for the year, and the SSH/RDP rows.
With a cloud: every rule on a host whose sources include an external address, judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cgcloud import clock, grammar
from cgcloud.i18n import N_
from cgcloud.reach.compare import FULL, PUBLIC, Difference, Verdict, intersect
from cgcloud.reach.facts import ACTIVE, Grant, Ranges, ZoneFact
from cgcloud.reach.index import Index

REMOTE_ADMIN = (("tcp", 22, "SSH"), ("tcp", 3389, "RDP"))
COUNT_CAP = 1 << 16  # counting target hosts stops here (a /8 target is not walked)
PUBLIC_SYSTEM = N_("(非 cgcloud 项目)")  # hosts outside cgcloud's projects


@dataclass(slots=True)
class SystemExposure:
    system: str
    rows: dict[str, list[Grant]] = field(default_factory=dict)  # zone id → rows in force
    public_ips_needed: int = 0
    public_ips_approved: int | None = None  # None: no approved form for the year
    remote_admin: list[tuple[Grant, str]] = field(default_factory=list)
    cloud: list[Verdict] = field(default_factory=list)


def remote_admin(g: Grant) -> list[str]:
    """SSH / RDP when the row opens TCP 22 / 3389."""
    return [name for proto, port, name in REMOTE_ADMIN if g.opens(proto, port)]


def _hosts(g: Grant, zones: dict[str, ZoneFact], into: set[object]) -> None:
    if g.target.placeholder:
        into.add(g.target.placeholder)
        return
    zone = zones.get(g.target.zone)
    ranges = zone.ranges if g.target.any and zone is not None else g.target.ranges
    for lo, hi in ranges:
        for ip in range(lo, min(hi, lo + COUNT_CAP) + 1):
            into.add(ip)
            if len(into) > COUNT_CAP:
                return


def external_ranges(zone: ZoneFact) -> Ranges:
    """The addresses of an external zone (互联网公网: every address that is public)."""
    if zone.public or not zone.ranges:
        return PUBLIC
    return zone.ranges


def exposure(index: Index, at: datetime, diff: Difference | None = None) -> list[SystemExposure]:
    zones = index.facts.zones
    systems: dict[str, SystemExposure] = {}
    hosts: dict[str, set[object]] = {}
    for g in index.exposed():
        if g.status(at) != ACTIVE:
            continue
        se = systems.setdefault(g.system, SystemExposure(g.system))
        se.rows.setdefault(g.source.zone, []).append(g)
        src_zone = zones.get(g.source.zone)
        if src_zone is not None and src_zone.public:
            _hosts(g, zones, hosts.setdefault(g.system, set()))
        for name in remote_admin(g):
            se.remote_admin.append((g, name))
    year = clock.today(at).year
    for system, se in systems.items():
        se.public_ips_needed = len(hosts.get(system, ()))
        approved = index.facts.public_ips.get(system, {})
        se.public_ips_approved = approved.get(year)
    if diff is not None:
        outside = grammar.merge_ranges(
            [r for z in zones.values() if not z.internal for r in external_ranges(z)]
        )
        for v in diff.verdicts:
            if v.fact.ipv6 or intersect(v.fact.remote, outside) or v.fact.remote == FULL:
                system = v.fact.host.system or PUBLIC_SYSTEM
                systems.setdefault(system, SystemExposure(system)).cloud.append(v)
    for se in systems.values():
        for rows in se.rows.values():
            rows.sort(key=lambda g: (g.form, g.row))
    return sorted(systems.values(), key=lambda s: s.system)

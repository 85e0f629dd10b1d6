"""The difference between what the forms approve and what the cloud allows.

Both directions are one question asked twice: does a set of *offers* (protocol, port
range, source addresses) cover a *need*? A cloud rule is authorised when the approved
rows in force cover it; an approved row is realised when the host's rules cover it.
Coverage is exact over unions: the need's port range is cut at every offer's bounds,
and each piece must have its addresses inside the union of the offers that span it,
so two rows that together cover a rule authorise it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cgcloud import grammar
from cgcloud.i18n import _
from cgcloud.reach.cloud import CloudFact, CloudView
from cgcloud.reach.facts import ACTIVE, Grant, Ranges
from cgcloud.reach.index import ANY_SERVICE, Endpoint, Index, Service

FULL: Ranges = ((0, grammar.MAX_IP),)
# (protocol or None for any, low port, high port, source addresses)
Offer = tuple[str | None, int, int, Ranges]

PENDING, MISSING = "pending", "missing"


def _public() -> Ranges:
    """Every public IPv4 address (the complement of grammar's non-public blocks)."""
    out: list[tuple[int, int]] = []
    cur = 0
    for lo, hi in sorted(grammar._NON_PUBLIC):
        if lo > cur:
            out.append((cur, lo - 1))
        cur = max(cur, hi + 1)
    if cur <= grammar.MAX_IP:
        out.append((cur, grammar.MAX_IP))
    return tuple(out)


PUBLIC = _public()  # what 互联网公网's 0.0.0.0 stands for


@dataclass(slots=True)
class Verdict:
    """A cloud rule on a host, judged: which rows in force allow it, and what none does."""

    fact: CloudFact
    rows: list[Grant]
    uncovered: list[str]  # empty: authorised

    @property
    def authorised(self) -> bool:
        return not self.uncovered


@dataclass(slots=True)
class Gap:
    """An approved row in force that the cloud does not (fully) allow on a host."""

    grant: Grant
    state: str  # pending (no host yet) | missing (the host's rules fall short)
    host: str
    detail: str


@dataclass(slots=True)
class Difference:
    verdicts: list[Verdict] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def unauthorised(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.authorised]


# --------------------------------------------------------------------------- ranges


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def cidrs(ranges: Ranges) -> str:
    return ", ".join(grammar.ranges_to_cidrs(ranges)) if ranges else "-"


def uncovered(
    protocol: str | None, low: int, high: int, need: Ranges, offers: Iterable[Offer]
) -> list[tuple[int, int, Ranges]]:
    """The pieces (low, high, addresses) of the need that no union of offers covers."""
    if not need:
        return []
    if protocol is None or protocol == "icmp":
        usable = [o for o in offers if o[0] is None or (protocol is not None and o[0] == protocol)]
        union = grammar.merge_ranges([r for o in usable for r in o[3]])
        rest = _minus(need, union)
        return [(low, high, rest)] if rest else []
    usable = [
        o for o in offers if (o[0] is None or o[0] == protocol) and o[1] <= high and low <= o[2]
    ]
    cuts = {low, high + 1}
    for _p, lo, hi, _r in usable:
        if low < lo <= high:
            cuts.add(lo)
        if low <= hi < high:
            cuts.add(hi + 1)
    points = sorted(cuts)
    out: list[tuple[int, int, Ranges]] = []
    for s, nxt in zip(points, points[1:], strict=False):
        e = nxt - 1
        union = grammar.merge_ranges([r for o in usable if o[1] <= s and e <= o[2] for r in o[3]])
        rest = _minus(need, union)
        if rest:
            if out and out[-1][1] == s - 1 and out[-1][2] == rest:
                out[-1] = (out[-1][0], e, rest)
            else:
                out.append((s, e, rest))
    return out


def _minus(a: Ranges, b: Ranges) -> Ranges:
    """The addresses of ``a`` not in ``b`` (both merged)."""
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def _ports_label(protocol: str | None, low: int, high: int) -> str:
    if protocol is None:
        return "/"
    if protocol == "icmp":
        return "ICMP"
    return f"{protocol.upper()}{low}" if low == high else f"{protocol.upper()}{low}-{high}"


# --------------------------------------------------------------------------- offers and needs


def grant_sources(g: Grant, view: CloudView) -> Ranges | None:
    """The addresses a row lets in, as cgcloud writes them (``0.0.0.0`` is 0.0.0.0/0);
    None when its source is a placeholder with no port yet."""
    if g.source.any:
        return FULL
    if g.source.placeholder:
        ips = view.placeholders.get((g.system, g.source.placeholder))
        return grammar.merge_ranges([(ip, ip) for ip in ips]) if ips else None
    return g.source.ranges


def grant_offers(g: Grant, view: CloudView) -> list[Offer]:
    src = grant_sources(g, view) or ()
    if g.ports_any:
        return [(None, 1, 65535, src)]
    return [(p, lo, hi, src) for p, lo, hi in g.ports]


def fact_offer(f: CloudFact) -> Offer:
    return (f.protocol, f.port_min or 1, f.port_max or 65535, f.remote)


def _narrow_service(
    protocol: str | None, low: int, high: int, service: Service
) -> tuple[str | None, int, int] | None:
    """The part of (protocol, low..high) the query asks about; None when it asks about
    something else."""
    if service.protocol is None:
        return protocol, low, high
    if protocol is not None and protocol != service.protocol:
        return None
    if service.port is None or service.protocol == "icmp":
        return service.protocol, low, high
    if not low <= service.port <= high:
        return None
    return service.protocol, service.port, service.port


def _source_ranges(index: Index, source: Endpoint | None, view: CloudView) -> Ranges | None:
    """The addresses the --from filter stands for (None: no filter)."""
    if source is None:
        return None
    if source.ip is not None:
        return ((source.ip, source.ip),)
    if source.placeholder is not None:
        ips = [
            ip for (_s, n), v in view.placeholders.items() if n == source.placeholder for ip in v
        ]
        return grammar.merge_ranges([(ip, ip) for ip in ips])
    zone = index.facts.zones.get(source.zone or "")
    if zone is None or not zone.ranges:
        return PUBLIC if zone is not None and zone.public else FULL
    return zone.ranges


# --------------------------------------------------------------------------- the difference


def difference(
    index: Index,
    view: CloudView,
    at: datetime,
    target: Endpoint | None = None,
    service: Service = ANY_SERVICE,
    source: Endpoint | None = None,
) -> Difference:
    """Cloud rules on the hosts in scope judged against the approved rows in force at
    ``at``, and the rows in force the cloud does not carry. Scope: the ``target`` host
    (an address or a placeholder's ports), else every host of the cloud."""
    out = Difference()
    src_filter = _source_ranges(index, source, view)
    facts_of: dict[int, list[CloudFact]] = {}
    for f in view.facts:
        facts_of.setdefault(f.host.ip, []).append(f)
    judge = _Judge(index, view, at, service, src_filter, facts_of)
    for ip in _hosts_in_scope(view, target):
        out.verdicts.extend(judge.verdicts(ip))
    # the other way: approved rows in force that the cloud does not carry
    by_system = _hosts_by_system(view)
    for g in _grants_in_scope(index, view, target, service, source):
        zone = index.facts.zones.get(g.target.zone)
        if g.status(at) != ACTIVE or zone is None or not zone.internal or g.target.any:
            continue
        out.gaps.extend(judge.gaps(g, _grant_hosts(g, view, by_system, target)))
    return out


def _hosts_in_scope(view: CloudView, target: Endpoint | None) -> list[int]:
    """The target's address, a placeholder's ports' addresses, or every host."""
    if target is None:
        return sorted(view.hosts)
    if target.ip is not None:
        return [target.ip]
    return sorted(
        {ip for (_s, n), ips in view.placeholders.items() if n == target.placeholder for ip in ips}
    )


def _grants_in_scope(
    index: Index,
    view: CloudView,
    target: Endpoint | None,
    service: Service,
    source: Endpoint | None,
) -> Sequence[Grant]:
    if target is not None:
        return index.to(target, service, source, resolved=view.placeholders)
    return index.grants if source is None else index.from_(source, service, view.placeholders)


def _hosts_by_system(view: CloudView) -> dict[str, list[int]]:
    """System → its project's host addresses, sorted: a row is carried by cgcloud on
    its own system's project's ports (as `plan` binds)."""
    by_system: dict[str, list[int]] = {}
    for ip, hs in view.hosts.items():
        for system in {h.system for h in hs if h.system}:
            by_system.setdefault(system, []).append(ip)
    for ips in by_system.values():
        ips.sort()
    return by_system


def _grant_hosts(
    g: Grant, view: CloudView, by_system: dict[str, list[int]], target: Endpoint | None
) -> tuple[list[int], str]:
    """The addresses a row's target stands for in the cloud, and its label."""
    if g.target.placeholder:
        ips = view.placeholders.get((g.system, g.target.placeholder), [])
        label = g.target.placeholder
    else:
        ordered = by_system.get(g.system, [])
        ips = [
            ip
            for lo, hi in g.target.ranges
            for ip in ordered[bisect.bisect_left(ordered, lo) : bisect.bisect_right(ordered, hi)]
        ]
        label = g.target.text
    if target is not None and target.ip is not None:
        ips = [ip for ip in ips if ip == target.ip]
    return ips, label


class _Judge:
    """One comparison's inputs and its cache of the rows in force per host."""

    def __init__(
        self,
        index: Index,
        view: CloudView,
        at: datetime,
        service: Service,
        src_filter: Ranges | None,
        facts_of: dict[int, list[CloudFact]],
    ):
        self.index, self.view, self.at = index, view, at
        self.service, self.src_filter, self.facts_of = service, src_filter, facts_of
        self._in_force: dict[int, list[Grant]] = {}

    def rows_for(self, ip: int) -> list[Grant]:
        if ip not in self._in_force:
            self._in_force[ip] = [
                g
                for g in self.index.to(Endpoint("", ip=ip), resolved=self.view.placeholders)
                if g.status(self.at) == ACTIVE
            ]
        return self._in_force[ip]

    def verdicts(self, ip: int) -> list[Verdict]:
        """Each cloud rule on host ``ip``: the rows that allow it, and what none does."""
        out = []
        for f in self.facts_of.get(ip, []):
            narrowed = _narrow_service(
                f.protocol, f.port_min or 1, f.port_max or 65535, self.service
            )
            if narrowed is None:
                continue
            need = f.remote if self.src_filter is None else intersect(f.remote, self.src_filter)
            if not need and not f.ipv6:
                continue
            rows = self.rows_for(ip)
            offers = [o for g in rows for o in grant_offers(g, self.view)]
            if f.ipv6:
                gaps = [_("IPv6 来源 {remote}（表单只批准 IPv4）").format(remote=f.remote_text)]
            else:
                gaps = [
                    _("{ports} 来自 {cidrs}").format(
                        ports=_ports_label(narrowed[0], lo, hi), cidrs=cidrs(rest)
                    )
                    for lo, hi, rest in uncovered(*narrowed, need, offers)
                ]
            used = [g for g in rows if any(_touches(o, f) for o in grant_offers(g, self.view))]
            out.append(Verdict(f, used, gaps))
        return out

    def gaps(self, g: Grant, hosts: tuple[list[int], str]) -> list[Gap]:
        """A row in force: pending (nothing to carry it yet) or what the cloud misses."""
        ips, label = hosts
        src = grant_sources(g, self.view)
        if not ips or src is None:
            why = (
                _("占位主机 {name} 尚无带标签的端口").format(name=g.target.placeholder)
                if g.target.placeholder and not ips
                else _("来源占位主机 {name} 尚无带标签的端口").format(name=g.source.placeholder)
                if src is None
                else _("目标地址在该系统的项目中尚无端口")
            )
            return [Gap(g, PENDING, label, why)]
        need_src = src if self.src_filter is None else intersect(src, self.src_filter)
        out = []
        for ip in ips:
            offers = [fact_offer(f) for f in self.facts_of.get(ip, []) if not f.ipv6]
            missing = []
            for proto, lo, hi, _r in grant_offers(g, self.view):
                narrowed = _narrow_service(proto, lo, hi, self.service)
                if narrowed is None:
                    continue
                missing += [
                    _("{ports} 来自 {cidrs}").format(
                        ports=_ports_label(narrowed[0], a, b), cidrs=cidrs(rest)
                    )
                    for a, b, rest in uncovered(*narrowed, need_src, offers)
                ]
            if missing:
                out.append(
                    Gap(g, MISSING, grammar.int_to_ip(ip), _("云中未放行: ") + "; ".join(missing))
                )
        return out


def _touches(offer: Offer, f: CloudFact) -> bool:
    proto, lo, hi, src = offer
    if f.protocol is not None and proto is not None and proto != f.protocol:
        return False
    if (
        f.protocol in ("tcp", "udp")
        and proto is not None
        and not (lo <= (f.port_max or 65535) and (f.port_min or 1) <= hi)
    ):
        return False
    return bool(intersect(src, f.remote))

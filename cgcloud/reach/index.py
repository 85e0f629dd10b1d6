"""The reach index: grants by target and by source address, and the queries over it.

Why buckets of /24: most cells are single addresses, short ranges or small CIDRs, so
an address finds its candidate rows in one dict lookup; a cell wider than a /16 (rare:
a zone-wide source) sits in a short "wide" list every query looks at, and ``0.0.0.0``
(any address of its zone) is kept per zone. A query filters only its candidates
exactly, never the whole repository.
"""

from __future__ import annotations

import bisect
import marshal
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from cgcloud import grammar
from cgcloud.i18n import _
from cgcloud.reach.facts import ACTIVE, End, Facts, Grant

BUCKET_SHIFT = 8  # /24
MAX_BUCKETS = 256  # a cell spanning more /24s than this (wider than a /16) is "wide"
Resolved = dict[tuple[str, str], list[int]]  # (system, placeholder) → addresses in the cloud


class QueryError(ValueError):
    """A --to/--from value that is not a host, an address or a zone (Chinese message)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a query names: one IPv4 address, a placeholder host, or a whole zone."""

    text: str
    ip: int | None = None
    placeholder: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """A protocol and port of a query (``port`` None: any port; ``protocol`` None: any)."""

    protocol: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.protocol is None:
            return _("任意端口")
        if self.protocol == "icmp":
            return "ICMP"
        return f"{self.protocol.upper()}{self.port if self.port is not None else ''}"


ANY_SERVICE = Service()


def parse_target(text: str) -> tuple[Endpoint, Service]:
    """``HOST[:PORT[/PROTO]]`` (PROTO tcp by default; ``HOST:icmp`` for ICMP)."""
    host, sep, rest = text.strip().partition(":")
    service = Service()
    if sep:
        port_text, _slash, proto = rest.partition("/")
        proto = (proto or "tcp").strip().lower()
        if port_text.strip().lower() == "icmp":
            service = Service("icmp", None)
        elif proto not in ("tcp", "udp") or not port_text.isascii() or not port_text.isdigit():
            raise QueryError(
                _(
                    "{text!r} 不是 主机[:端口[/协议]]，例如 172.20.4.11:443、172.20.4.11:53/udp"
                ).format(text=text)
            )
        else:
            port = int(port_text)
            if not 1 <= port <= 65535:
                raise QueryError(_("端口 {port} 超出 1-65535").format(port=port))
            service = Service(proto, port)
    return parse_endpoint(host, zones=None), service


def parse_endpoint(text: str, zones: dict[str, str] | None) -> Endpoint:
    """An IPv4 address, a placeholder ``系统-用途``, or (when ``zones`` is given: ref → id)
    a zone by id or Chinese name."""
    raw = text.strip()
    if zones is not None and raw in zones:
        return Endpoint(raw, zone=zones[raw])
    try:
        addr = grammar.parse_address(raw)
    except grammar.GrammarError as exc:
        raise QueryError(
            _("{text!r} 不是地址、占位主机或区域: {err}").format(text=raw, err=exc)
        ) from None
    if addr.placeholder:
        return Endpoint(raw, placeholder=addr.placeholder)
    if addr.any or len(addr.ranges) != 1 or addr.ranges[0][0] != addr.ranges[0][1]:
        raise QueryError(
            _("{text!r}: 请给出一个主机地址（不是网段、范围或 0.0.0.0）").format(text=raw)
        )
    return Endpoint(raw, ip=addr.ranges[0][0])


@dataclass(slots=True)
class _Side:
    """One end (target or source) of every grant, indexed.

    Built as a dict of /24 buckets, then frozen into three flat arrays (sorted bucket
    keys, offsets, grant ids): a cached index of 50,000 scattered sources has ~50,000
    buckets, which unpickle in 0.2 s as a dict of lists and in a millisecond as arrays."""

    building: dict[int, list[int]] = field(default_factory=dict)
    keys: array = field(default_factory=lambda: array("I"))
    offsets: array = field(default_factory=lambda: array("I"))
    ids: array = field(default_factory=lambda: array("I"))
    wide: list[int] = field(default_factory=list)
    any_in_zone: dict[str, list[int]] = field(default_factory=dict)
    placeholder: dict[str, list[int]] = field(default_factory=dict)
    zone: dict[str, list[int]] = field(default_factory=dict)

    def add(self, i: int, end: End) -> None:
        self.zone.setdefault(end.zone, []).append(i)
        if end.any:
            self.any_in_zone.setdefault(end.zone, []).append(i)
        elif end.placeholder:
            self.placeholder.setdefault(end.placeholder, []).append(i)
        else:
            first, last = end.ranges[0][0] >> BUCKET_SHIFT, end.ranges[-1][1] >> BUCKET_SHIFT
            if last - first >= MAX_BUCKETS:
                self.wide.append(i)
                return
            seen = -1
            for lo, hi in end.ranges:
                for b in range(max(lo >> BUCKET_SHIFT, seen + 1), (hi >> BUCKET_SHIFT) + 1):
                    self.building.setdefault(b, []).append(i)
                    seen = b

    def freeze(self) -> None:
        for key in sorted(self.building):
            self.keys.append(key)
            self.offsets.append(len(self.ids))
            self.ids.extend(self.building[key])
        self.offsets.append(len(self.ids))
        self.building = {}

    def bucket(self, ip: int) -> Sequence[int]:
        key = ip >> BUCKET_SHIFT
        at = bisect.bisect_left(self.keys, key)
        if at == len(self.keys) or self.keys[at] != key:
            return ()
        return self.ids[self.offsets[at] : self.offsets[at + 1]]

    def candidates(self, ip: int, zones_holding: list[str], names: Iterable[str]) -> set[int]:
        out = set(self.bucket(ip))
        out.update(self.wide)
        for z in zones_holding:
            out.update(self.any_in_zone.get(z, ()))
        for name in names:
            out.update(self.placeholder.get(name, ()))
        return out


class Grants(Sequence[Grant]):
    """The grants, kept marshalled in chunks until a query looks at one of them.

    Why: unpickling 50,000 grant objects takes over a second; 800 marshalled chunks of
    plain tuples load in ~10 ms (a chunk of consecutive rows shares its form's strings,
    which halves the cache), and a query decodes only the chunks of its candidates."""

    CHUNK = 64

    def __init__(self, grants: list[Grant]) -> None:
        n = self.CHUNK
        self._chunks = [
            marshal.dumps([g.pack() for g in grants[i : i + n]]) for i in range(0, len(grants), n)
        ]
        self._len = len(grants)
        self._memo: dict[int, Grant] = dict(enumerate(grants))

    def __getstate__(self) -> tuple[list[bytes], int]:
        return self._chunks, self._len

    def __setstate__(self, state: tuple[list[bytes], int]) -> None:
        self._chunks, self._len = state
        self._memo = {}

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> Grant: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Grant]: ...
    def __getitem__(self, i: int | slice) -> Grant | Sequence[Grant]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        g = self._memo.get(i)
        if g is None:
            if not 0 <= i < self._len:
                raise IndexError(i)
            base = i - i % self.CHUNK
            for k, fields in enumerate(marshal.loads(self._chunks[base // self.CHUNK])):
                self._memo[base + k] = Grant.unpack(fields)
            g = self._memo[i]
        return g


class Index:
    """Grants indexed by target and by source; the queries of `cgcloud reach`."""

    def __init__(self, facts: Facts) -> None:
        self.targets = _Side()
        self.sources = _Side()
        for i, g in enumerate(facts.grants):
            self.targets.add(i, g.target)
            self.sources.add(i, g.source)
        self.targets.freeze()
        self.sources.freeze()
        self.grants = Grants(facts.grants)
        facts.grants = []  # kept once, in self.grants
        self.facts = facts
        self.zone_refs: dict[str, str] = {}
        for z in facts.zones.values():
            self.zone_refs.setdefault(z.id, z.id)
            self.zone_refs.setdefault(z.name, z.id)

    # ------------------------------------------------------------------ matching

    def zones_holding(self, ip: int) -> list[str]:
        return [z.id for z in self.facts.zones.values() if z.holds(ip)]

    def covers(self, end: End, system: str, who: Endpoint, resolved: Resolved) -> bool:
        """Whether the row end ``end`` (of a row of ``system``) includes ``who``."""
        if who.zone is not None:
            return end.zone == who.zone
        if who.placeholder is not None:
            return end.placeholder == who.placeholder
        ip = who.ip
        assert ip is not None
        if end.any:
            zone = self.facts.zones.get(end.zone)
            return zone is None or zone.holds(ip)
        if end.placeholder:
            return ip in resolved.get((system, end.placeholder), ())
        return any(lo <= ip <= hi for lo, hi in end.ranges)

    def _names(self, ip: int, resolved: Resolved) -> set[str]:
        return {name for (_system, name), ips in resolved.items() if ip in ips}

    def _candidates(self, side: _Side, who: Endpoint, resolved: Resolved) -> Iterable[int]:
        if who.zone is not None:
            return side.zone.get(who.zone, [])
        if who.placeholder is not None:
            return side.placeholder.get(who.placeholder, [])
        assert who.ip is not None
        return side.candidates(who.ip, self.zones_holding(who.ip), self._names(who.ip, resolved))

    # ------------------------------------------------------------------ queries

    def to(
        self,
        target: Endpoint,
        service: Service = ANY_SERVICE,
        source: Endpoint | None = None,
        resolved: Resolved | None = None,
    ) -> list[Grant]:
        """Every grant (whatever its status) that lets ``source`` (anyone when None)
        reach ``target`` on ``service``, in form/row order."""
        res = resolved or {}
        out = []
        for i in self._candidates(self.targets, target, res):
            g = self.grants[i]
            if (
                g.opens(service.protocol, service.port)
                and self.covers(g.target, g.system, target, res)
                and (source is None or self.covers(g.source, g.system, source, res))
            ):
                out.append(g)
        return sorted(out, key=_order)

    def from_(
        self, source: Endpoint, service: Service = ANY_SERVICE, resolved: Resolved | None = None
    ) -> list[Grant]:
        """Every grant that lets ``source`` reach something (the reverse query)."""
        res = resolved or {}
        out = [
            self.grants[i]
            for i in self._candidates(self.sources, source, res)
            if self.grants[i].opens(service.protocol, service.port)
            and self.covers(self.grants[i].source, self.grants[i].system, source, res)
        ]
        return sorted(out, key=_order)

    def reachable(self, source: int, target: int, service: Service, at: datetime) -> bool:
        """Whether an approved row in force at ``at`` lets ``source`` reach ``target``."""
        return any(
            g.status(at) == ACTIVE
            for g in self.to(Endpoint("", ip=target), service, Endpoint("", ip=source))
        )

    def exposed(self) -> Iterator[Grant]:
        """The grants from an external zone (互联网公网, 政务外网骨干网, 专线网络…) to an
        internal one."""
        zones = self.facts.zones
        for z in zones.values():
            if z.internal:
                continue
            for i in self.sources.zone.get(z.id, []):
                g = self.grants[i]
                to = zones.get(g.target.zone)
                if to is not None and to.internal:
                    yield g


def _order(g: Grant) -> tuple[str, int]:
    return (g.form, g.row)

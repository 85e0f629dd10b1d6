"""Duplicate and shadowed rows (semantics rule 7), within one system.

Rows are compared by their *parsed* cells — zones by id, addresses as merged
ranges (or "any", or the placeholder), ports as merged protocol ranges — so
``TCP 22`` equals ``tcp22`` and ``172.20.4.11-12`` equals ``172.20.4.11、172.20.4.12``.

* CG331 (error): the same row twice in a system — equal cells *and* the same
  effective window (``policy.window_of(row)``). Two forms with the same row in
  different periods (a renewal for the next year) are not duplicates; when one
  period covers the other it is a shadowed row (CG330). Points at the second.
* CG330 (warning): a row that another row of the same system fully covers:
  same zones, same-or-wider source, target and ports, same-or-longer window.
  Points at the covered row and names the covering one.

Complexity. Duplicates: one dict pass, O(n). Shadowing: rows are indexed by
(from zone, to zone, target slot): a target of at most 64 addresses is filed under
each address, a wider one under each /24 block it touches (up to 256), wider still
under "wide", ``0.0.0.0`` under "any". A row covering B must hold B's lowest target
address, so B probes 4 slots and compares only with the rows found there, kept in
form order so the scan stops at the first cover. A slot holding more than
``BIG_BUCKET`` rows (many rows to one host) is split once, lazily, by (source /24
slot, protocol), and B then probes only the parts that can cover it. Total work
O(n · k), k the largest list compared: a handful of rows in real forms. The
pairwise worst case (every row to one host from one /24 with one protocol, none
covering another) stays possible but is not the common case. 50,000 rows: about
0.2 s (benchmarks/).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from cgcloud.clock import Window
from cgcloud.findings import Finding
from cgcloud.grammar import Address, Ports
from cgcloud.i18n import N_, _
from cgcloud.model import NetworkPolicy, Row
from cgcloud.rules.base import ERROR, WARNING, Context, Rule

HOST_LIMIT = 64  # targets of at most this many addresses are filed per address
BLOCK_LIMIT = 256  # ... else per /24 block, up to this many blocks; else "wide"


@dataclass(slots=True)
class _Item:
    order: int
    policy: NetworkPolicy
    row: Row
    source: Address
    target: Address
    ports: Ports
    window: Window | None
    key: tuple[object, ...]


def _addr_key(a: Address) -> object:
    if a.any:
        return "*"
    if a.placeholder:
        return ("p", a.placeholder)
    return a.ranges


def _ports_key(p: Ports) -> object:
    return "*" if p.any else tuple((e.protocol, e.low, e.high) for e in p.entries)


def _items(ctx: Context) -> dict[str, list[_Item]]:
    """Parsed rows by system, in form order; computed once per Context (both rules use it)."""
    return ctx.shared("overlap.items", _list_items)


def _list_items(ctx: Context) -> dict[str, list[_Item]]:
    by_system: dict[str, list[_Item]] = defaultdict(list)
    port_keys: dict[int, object] = {}  # parsed Ports are shared (lru_cache): key them once
    order = 0
    for policy in ctx.repo.policies:
        for row in policy.rules:
            if not row.parsed:
                continue
            assert row.from_zone and row.to_zone and row.source and row.target and row.ports
            window = policy.window_of(row)
            ports_key = port_keys.get(id(row.ports))
            if ports_key is None:
                ports_key = port_keys[id(row.ports)] = _ports_key(row.ports)
            key = (
                row.from_zone.id,
                row.to_zone.id,
                _addr_key(row.source),
                _addr_key(row.target),
                ports_key,
            )
            by_system[policy.system].append(
                _Item(order, policy, row, row.source, row.target, row.ports, window, key)
            )
            order += 1
    return by_system


def _where(item: _Item) -> str:
    return _("表单 {policy_id} 第{row_number}行").format(
        policy_id=item.policy.id, row_number=item.row.number
    )


def check_duplicates(ctx: Context) -> Iterator[Finding]:
    for items in _items(ctx).values():
        seen: dict[tuple[object, ...], _Item] = {}
        for item in items:
            full = (*item.key, item.window)
            first = seen.get(full)
            if first is None:
                seen[full] = item
                continue
            row = item.row
            yield DUPLICATE.at(
                row.at,
                _(
                    "第{row_number}行与{where}重复（{row_from_ref} {row_source_text} → "
                    "{row_to_ref} {row_target_text} {row_port_text}，使用期相同）"
                ).format(
                    row_number=row.number,
                    where=_where(first),
                    row_from_ref=row.from_ref,
                    row_source_text=row.source_text,
                    row_to_ref=row.to_ref,
                    row_target_text=row.target_text,
                    row_port_text=row.port_text,
                ),
                _("删除重复的一行；同一条访问关系只需备案一次"),
                form=item.policy,
            )


def _slots(a: Address) -> list[object]:
    """Where a row is filed by this address: per address (small sets), per /24 block,
    "wide", "*" (any) or the placeholder."""
    if a.any:
        return ["*"]
    if a.placeholder:
        return [("p", a.placeholder)]
    if a.size <= HOST_LIMIT:
        return [v for lo, hi in a.ranges for v in range(lo, hi + 1)]
    blocks = sum((hi >> 8) - (lo >> 8) + 1 for lo, hi in a.ranges)
    if blocks <= BLOCK_LIMIT:
        return [("b", b) for lo, hi in a.ranges for b in range(lo >> 8, (hi >> 8) + 1)]
    return ["w"]


def _source_slot(a: Address) -> object:
    """Sources are filed once: by their /24 block when they lie in one, else "wide"."""
    if a.any:
        return "*"
    if a.placeholder:
        return ("p", a.placeholder)
    lo, hi = a.ranges[0][0], a.ranges[-1][1]
    return ("b", lo >> 8) if lo >> 8 == hi >> 8 else "w"


def _probes(a: Address, *, source: bool = False) -> list[object]:
    """The slots under which a row covering ``a`` can be filed: it holds ``a``'s lowest address."""
    if a.any:
        return ["*"]
    if a.placeholder:
        return [("p", a.placeholder), "*"]
    low = a.ranges[0][0]
    if source:
        return [("b", low >> 8), "w", "*"]
    return [low, ("b", low >> 8), "w", "*"]


def _protocols(p: Ports) -> set[str]:
    return {"*"} if p.any else {e.protocol for e in p.entries}


def _window_covers(a: Window | None, b: Window | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.covers(b)


def _covers(a: _Item, b: _Item) -> bool:
    return (
        a.ports.covers(b.ports)
        and a.target.covers(b.target)
        and a.source.covers(b.source)
        and _window_covers(a.window, b.window)
    )


BIG_BUCKET = 32  # a target slot with more rows than this is split by source slot and protocol


def _split(bucket: list[_Item]) -> dict[tuple[object, str], list[_Item]]:
    """A large target bucket by (source slot, protocol), each list still in form order."""
    out: dict[tuple[object, str], list[_Item]] = {}
    for item in bucket:
        sslot = _source_slot(item.source)
        for proto in _protocols(item.ports):
            out.setdefault((sslot, proto), []).append(item)
    return out


def _candidates(
    bucket: list[_Item], b: _Item, split: dict[int, dict[tuple[object, str], list[_Item]]]
) -> Iterator[list[_Item]]:
    """The lists of ``bucket`` that may hold a row covering ``b``: the bucket itself when it is
    small, else only its (source slot, protocol) parts that can cover ``b``."""
    if len(bucket) <= BIG_BUCKET:
        yield bucket
        return
    parts = split.get(id(bucket))
    if parts is None:
        parts = split[id(bucket)] = _split(bucket)
    protos = ["*"] if b.ports.any else ["*", b.ports.entries[0].protocol]
    for sslot in _probes(b.source, source=True):
        for proto in protos:
            found = parts.get((sslot, proto))
            if found:
                yield found


def check_shadowed(ctx: Context) -> Iterator[Finding]:
    for items in _items(ctx).values():
        # one representative per distinct (cells, window): duplicates are CG331's
        unique: dict[tuple[object, ...], _Item] = {}
        for item in items:
            unique.setdefault((*item.key, item.window), item)
        # (zones, target slot) → rows in form order; large buckets split lazily
        index: dict[tuple[object, object, object], list[_Item]] = defaultdict(list)
        for item in unique.values():
            zf, zt = item.key[0], item.key[1]
            for tslot in _slots(item.target):
                index[(zf, zt, tslot)].append(item)
        split: dict[int, dict[tuple[object, str], list[_Item]]] = {}
        get = index.get
        for b in unique.values():
            zf, zt = b.key[0], b.key[1]
            best: _Item | None = None
            for tslot in _probes(b.target):
                bucket = get((zf, zt, tslot))
                if not bucket or (len(bucket) == 1 and bucket[0] is b):
                    continue
                for candidates in _candidates(bucket, b, split):
                    for a in candidates:
                        if best is not None and a.order >= best.order:
                            break  # lists are in form order: nothing earlier follows
                        if a is not b and _covers(a, b):
                            best = a
                            break
            if best is not None:
                yield _shadowed(b, best)


def _shadowed(b: _Item, best: _Item) -> Finding:
    row, other = b.row, best.row
    return SHADOWED.at(
        row.at,
        _(
            "第{row_number}行（{row_source_text} → {row_target_text} {row_port_text}，"
            "使用期 {window}）已被{where}（{other_source_text} → {other_target_text} "
            "{other_port_text}，使用期 {other_window}）完全覆盖，不起作用"
        ).format(
            row_number=row.number,
            row_source_text=row.source_text,
            row_target_text=row.target_text,
            row_port_text=row.port_text,
            window=b.window or _("未填写"),
            where=_where(best),
            other_source_text=other.source_text,
            other_target_text=other.target_text,
            other_port_text=other.port_text,
            other_window=best.window or _("未填写"),
        ),
        _("删除被覆盖的一行，或收窄覆盖它的那一行"),
        form=b.policy,
    )


DUPLICATE = Rule(
    "CG331",
    "duplicate-row",
    ERROR,
    N_("附件2"),
    N_("同一系统中同一条规则出现两次"),
    check_duplicates,
)
SHADOWED = Rule(
    "CG330",
    "shadowed-row",
    WARNING,
    N_("附件2"),
    N_("规则被同一系统的另一条规则完全覆盖（源、目标、端口和使用期都不更宽）"),
    check_shadowed,
)

RULES = [SHADOWED, DUPLICATE]

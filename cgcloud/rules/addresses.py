"""The cells of a network-policy row (附件2 注1–2): zone names, address and port grammar,
and whether each address belongs to the zone the row says it is in.

``model.resolve`` has already parsed every cell (problems are on ``row.errors``);
these rules turn those problems into findings and then judge each address that
parsed against its zone:

- internal zone: inside the zone's pools (CG104); never ``0.0.0.0`` (CG106);
  a placeholder ``系统名称-用途`` is allowed and must name one system's host only
  (CG110);
- 互联网公网 (no pools): public addresses only (CG105);
- other external zones with pools (骨干网, 专线): inside their pools (CG104);
- any external zone: ``0.0.0.0`` is allowed, a placeholder is not (CG109).
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud import grammar
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import NetworkPolicy, Row, Zone
from cgcloud.rules.base import ERROR, Context, Rule

SOURCE_LABEL, TARGET_LABEL = N_("源地址"), N_("目标地址")  # translated where a finding is made
CELLS = (("source", "from", SOURCE_LABEL), ("target", "to", TARGET_LABEL))


def _zone_names(ctx: Context) -> str:
    zones = ctx.repo.zones
    return _("、").join(f"{z.name}({z.id})" for z in zones.zones) if zones else ""


def _span(lo: int, hi: int) -> str:
    if lo == hi:
        return grammar.int_to_ip(lo)
    return f"{grammar.int_to_ip(lo)}-{grammar.int_to_ip(hi)}"


def _inside(ranges: tuple[tuple[int, int], ...], pool: tuple[tuple[int, int], ...]) -> bool:
    """Every range lies inside one range of the pool (both merged): the fast, common case."""
    for lo, hi in ranges:
        for plo, phi in pool:
            if plo <= lo and hi <= phi:
                break
        else:
            return False
    return True


def _outside(ranges: tuple[tuple[int, int], ...], pool: tuple[tuple[int, int], ...]) -> list[str]:
    """The parts of ``ranges`` that are not in ``pool`` (both merged), as text."""
    out: list[str] = []
    for lo, hi in ranges:
        cur = lo
        for plo, phi in pool:
            if phi < cur or plo > hi:
                continue
            if plo > cur:
                out.append(_span(cur, plo - 1))
            cur = max(cur, phi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append(_span(cur, hi))
    return out


def _few(items: list[str], limit: int = 3) -> str:
    text = _("、").join(items[:limit])
    return text + (_(" 等{n}段").format(n=len(items)) if len(items) > limit else "")


def _where(policy: NetworkPolicy, row: Row) -> str:
    return _("{policy_id} 第{row_number}行").format(policy_id=policy.id, row_number=row.number)


# --------------------------------------------------------------------------- grammar


def check_zone_names(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        for row in policy.rules:
            for cell in ("from", "to"):
                if cell in row.errors:
                    yield UNKNOWN_ZONE.at(
                        row.at / cell,
                        _("{where}：{error}").format(
                            where=_where(policy, row), error=row.errors[cell]
                        ),
                        _("区域写 Zones 中区域的 id 或中文名：{zone_names}").format(
                            zone_names=_zone_names(ctx)
                        ),
                        form=policy,
                    )


def check_address_grammar(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        for row in policy.rules:
            for cell, _zone_cell, label in CELLS:
                if cell in row.errors:
                    yield ADDRESS_GRAMMAR.at(
                        row.at / cell,
                        _("{where} {label}写法错误：{error}").format(
                            where=_where(policy, row), label=_(label), error=row.errors[cell]
                        ),
                        _(
                            "地址写法：58.33.33.33；列表 58.33.33.33、58.44.44.44；范围 58.33.33.33-40；"
                            "网段 10.10.10.0/24（主机位须为 0）；0.0.0.0 表示不限制；未分配地址的内部主机写 系统名称-用途"
                        ),
                        form=policy,
                    )


def check_port_grammar(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        for row in policy.rules:
            if "port" in row.errors:
                yield PORT_GRAMMAR.at(
                    row.at / "port",
                    _("{where} 端口写法错误：{error}").format(
                        where=_where(policy, row), error=row.errors["port"]
                    ),
                    _(
                        "端口写法：/（不限制）、TCP9999、UDP53、TCP80,443、TCP8000-8080、TCP 22、ICMP"
                    ),
                    form=policy,
                )


# --------------------------------------------------------------------------- addresses vs zones


Cell = tuple[NetworkPolicy, Row, str, str, Zone, grammar.Address]


def _cells(ctx: Context) -> list[Cell]:
    """Every address cell that parsed and whose zone resolved (five rules walk them:
    listed once per run)."""
    return ctx.shared("addresses.cells", _list_cells)


def _list_cells(ctx: Context) -> list[Cell]:
    out: list[Cell] = []
    for policy in ctx.repo.policies:
        for row in policy.rules:
            errors = row.errors
            if row.from_zone is not None and row.source is not None and "source" not in errors:
                out.append((policy, row, "source", SOURCE_LABEL, row.from_zone, row.source))
            if row.to_zone is not None and row.target is not None and "target" not in errors:
                out.append((policy, row, "target", TARGET_LABEL, row.to_zone, row.target))
    return out


def check_outside_pool(ctx: Context) -> Iterator[Finding]:
    for policy, row, cell, label, zone, address in _cells(ctx):
        if address.any or address.placeholder or zone.is_public or not zone.ranges:
            continue
        if _inside(address.ranges, zone.ranges):
            continue
        outside = _outside(address.ranges, zone.ranges)
        if outside:
            kind = _("内部区域") if zone.internal else _("外部区域")
            yield OUTSIDE_POOL.at(
                row.at / cell,
                _(
                    "{where} {label} {address_text} 中的 {parts} 不在{kind} {zone_name} "
                    "的地址池 {zone_cidrs} 内"
                ).format(
                    where=_where(policy, row),
                    label=_(label),
                    address_text=address.text.strip(),
                    parts=_few(outside),
                    kind=kind,
                    zone_name=zone.name,
                    zone_cidrs=_("、").join(zone.cidrs),
                ),
                _(
                    "请核对地址，或把区域改为该地址实际所在的区域（{zone_name} 的地址池见 Zones）"
                ).format(zone_name=zone.name),
                form=policy,
            )


def check_public(ctx: Context) -> Iterator[Finding]:
    for policy, row, cell, label, zone, address in _cells(ctx):
        if not zone.is_public or address.any or address.placeholder:
            continue
        bad = [_span(lo, hi) for lo, hi in address.ranges if not grammar.is_public(lo, hi)]
        if bad:
            yield NOT_PUBLIC.at(
                row.at / cell,
                _(
                    "{where} {label} {address_text} 位于 {zone_name}，但 {parts} 不是公网地址（私有 "
                    "RFC1918、环回、链路本地、运营商级 NAT、组播/保留地址）"
                ).format(
                    where=_where(policy, row),
                    label=_(label),
                    address_text=address.text.strip(),
                    zone_name=zone.name,
                    parts=_few(bad),
                ),
                _(
                    "{zone_name} 只能写公网地址；私有地址请写它实际所在的区域（政务外网骨干网、专线网络等）"
                ).format(zone_name=zone.name),
                form=policy,
            )


def check_any_in_internal(ctx: Context) -> Iterator[Finding]:
    for policy, row, cell, label, zone, address in _cells(ctx):
        if address.any and zone.internal:
            yield ANY_INTERNAL.at(
                row.at / cell,
                _("{where} {label}写了 0.0.0.0（不限制），但 {zone_name} 是内部区域").format(
                    where=_where(policy, row), label=_(label), zone_name=zone.name
                ),
                _(
                    "0.0.0.0 只能用于外部区域；内部区域请写具体地址或该区域的网段（{zone_cidrs}）"
                ).format(zone_cidrs=_("、").join(zone.cidrs)),
                form=policy,
            )


def check_placeholder_external(ctx: Context) -> Iterator[Finding]:
    for policy, row, cell, label, zone, address in _cells(ctx):
        if address.placeholder and not zone.internal:
            yield PLACEHOLDER_EXTERNAL.at(
                row.at / cell,
                _(
                    "{where} {label}写了占位名 {address_placeholder}，但 {zone_name} 是外部区域"
                ).format(
                    where=_where(policy, row),
                    label=_(label),
                    address_placeholder=address.placeholder,
                    zone_name=zone.name,
                ),
                _(
                    "占位名只代表云内尚未分配地址的主机，只能用于内部区域；外部区域请写实际地址或 0.0.0.0"
                ),
                form=policy,
            )


def check_placeholder_unique(ctx: Context) -> Iterator[Finding]:
    owner: dict[str, tuple[NetworkPolicy, Row]] = {}
    reported: set[tuple[str, str]] = set()
    for policy, row, cell, _label, _zone, address in _cells(ctx):
        name = address.placeholder
        if not name:
            continue
        first = owner.setdefault(name, (policy, row))
        first_policy, first_row = first
        if first_policy.system == policy.system or (name, policy.system) in reported:
            continue
        reported.add((name, policy.system))
        yield PLACEHOLDER_SHARED.at(
            row.at / cell,
            _(
                "占位名 {name} 同时用于两个系统：{first_policy_system}（{where}）和 {policy_system}（{other_where}）"
            ).format(
                name=name,
                first_policy_system=first_policy.system,
                where=_where(first_policy, first_row),
                policy_system=policy.system,
                other_where=_where(policy, row),
            ),
            _(
                "占位名代表一台主机，在整个仓库中只能属于一个系统；请给本系统的主机另起一个占位名（建议以本系统名称开头）"
            ),
            form=policy,
        )


UNKNOWN_ZONE = Rule(
    "CG101",
    "unknown-zone",
    ERROR,
    N_("附件2 注1"),
    N_("源区域或目标区域不是 Zones 中的区域"),
    check_zone_names,
)
OUTSIDE_POOL = Rule(
    "CG104",
    "address-outside-zone",
    ERROR,
    N_("附件2 注1"),
    N_("地址不在其区域的地址池内（内部区域，以及有地址池的外部区域）"),
    check_outside_pool,
)
NOT_PUBLIC = Rule(
    "CG105",
    "not-public-address",
    ERROR,
    N_("附件2 注1"),
    N_("互联网公网中的地址不是公网地址（私有、环回、链路本地等）"),
    check_public,
)
ANY_INTERNAL = Rule(
    "CG106",
    "any-in-internal-zone",
    ERROR,
    N_("附件2 注2"),
    N_("0.0.0.0（不限制）用于内部区域；内部区域应写本区域的地址或网段"),
    check_any_in_internal,
)
ADDRESS_GRAMMAR = Rule(
    "CG107",
    "address-grammar",
    ERROR,
    N_("附件2 注2"),
    N_("地址写法错误（含网段主机位不为 0）"),
    check_address_grammar,
)
PORT_GRAMMAR = Rule(
    "CG108", "port-grammar", ERROR, N_("附件2"), N_("端口写法错误"), check_port_grammar
)
PLACEHOLDER_EXTERNAL = Rule(
    "CG109",
    "placeholder-in-external-zone",
    ERROR,
    N_("附件2 注2"),
    N_("占位名（系统名称-用途）用于外部区域；占位名只能代表内部区域的主机"),
    check_placeholder_external,
)
PLACEHOLDER_SHARED = Rule(
    "CG110",
    "placeholder-in-two-systems",
    ERROR,
    N_("附件2 注2"),
    N_("同一个占位名出现在两个系统中"),
    check_placeholder_unique,
)

RULES = [
    UNKNOWN_ZONE,
    OUTSIDE_POOL,
    NOT_PUBLIC,
    ANY_INTERNAL,
    ADDRESS_GRAMMAR,
    PORT_GRAMMAR,
    PLACEHOLDER_EXTERNAL,
    PLACEHOLDER_SHARED,
]

"""The site model (Zones, 附件2 注1–4) must agree with itself before any row is judged.

CG100 reports every inconsistency of the Zones file: unknown zones named by
``flows``/``default_egress``/``bastions``, duplicate zone ids or names, an
internal zone without pools, pools of two zones that overlap, a bastion outside
its zone's pools or in an external zone, a flow the regulation forbids (between
two external zones), and a default-egress direction that is not an allowed flow.
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud import grammar
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import Zone, Zones
from cgcloud.rules.base import ERROR, Context, Rule

_HINT_REF = N_("flows、default_egress、bastions 中只能写 zones 中已定义区域的 id 或中文名")


def _zone_list(zones: Zones) -> str:
    return _("、").join(f"{z.name}({z.id})" for z in zones.zones)


def check_site(ctx: Context) -> Iterator[Finding]:
    zones = ctx.repo.zones
    if zones is None:
        return
    yield from _duplicates(zones)
    yield from _pools(zones)
    yield from _pairs(zones)
    yield from _bastions(zones)


def _duplicates(zones: Zones) -> Iterator[Finding]:
    ids: dict[str, Zone] = {}
    names: dict[str, Zone] = {}
    for z in zones.zones:
        if z.id in ids:
            yield SITE.at(
                z.at / "id",
                _("区域 id {z_id!r} 重复（区域 {name} 已使用）").format(
                    z_id=z.id, name=ids[z.id].name
                ),
                _("每个区域的 id 必须唯一"),
            )
        else:
            ids[z.id] = z
        if z.name in names:
            yield SITE.at(
                z.at / "name",
                _("区域名称 {z_name!r} 重复（区域 {id} 已使用）").format(
                    z_name=z.name, id=names[z.name].id
                ),
                _("每个区域的中文名称必须唯一，规则中的区域名才不会有歧义"),
            )
        else:
            names[z.name] = z
    # A name that is another zone's id would make a rule's from/to ambiguous.
    for z in zones.zones:
        other = ids.get(z.name)
        if other is not None and other is not z:
            yield SITE.at(
                z.at / "name",
                _(
                    "区域 {z_id} 的名称 {z_name!r} 与区域 {other_name} 的 id 相同，规则中的区域名有歧义"
                ).format(z_id=z.id, z_name=z.name, other_name=other.name),
                _("区域名称不要与其他区域的 id 相同"),
            )


def _pools(zones: Zones) -> Iterator[Finding]:
    for z in zones.zones:
        if z.internal and not z.cidrs:
            yield SITE.at(
                z.at,
                _("内部区域 {z_name}({z_id}) 没有地址池 cidrs").format(z_name=z.name, z_id=z.id),
                _(
                    "内部区域必须写出地址池，例如 cidrs: [172.21.0.0/16]；区域内主机的地址须落在其中"
                ),
            )
    seen: list[Zone] = []
    for z in zones.zones:
        if not z.ranges:
            continue
        for other in seen:
            if grammar.ranges_overlap(other.ranges, z.ranges):
                yield SITE.at(
                    z.at / "cidrs",
                    _(
                        "区域 {z_name}({z_id}) 的地址池 {z_cidrs} 与区域 {other_name}({other_id})"
                        " 的地址池 {other_cidrs} 重叠"
                    ).format(
                        z_name=z.name,
                        z_id=z.id,
                        z_cidrs=_("、").join(z.cidrs),
                        other_name=other.name,
                        other_id=other.id,
                        other_cidrs=_("、").join(other.cidrs),
                    ),
                    _("不同区域的地址池不能重叠，否则无法判断一个地址属于哪个区域"),
                )
        seen.append(z)


def _pairs(zones: Zones) -> Iterator[Finding]:
    for key, pairs in (("flows", zones.flows), ("default_egress", zones.default_egress)):
        for f, t, at in pairs:
            unknown = False
            for i, ref in enumerate((f, t)):
                if zones.zone(ref) is None:
                    unknown = True
                    yield SITE.at(
                        at / i,
                        _("{key} 中的区域 {ref!r} 不存在；已定义的区域：{zone_list}").format(
                            key=key, ref=ref, zone_list=_zone_list(zones)
                        ),
                        _(_HINT_REF),
                    )
            if unknown:
                continue
            a, b = zones.zone(f), zones.zone(t)
            assert a is not None and b is not None
            if key == "flows" and not a.internal and not b.internal:
                yield SITE.at(
                    at,
                    _(
                        "flows 允许了两个外部区域之间的访问 [{a_id}, {b_id}]（{a_name} → {b_name}）"
                    ).format(a_id=a.id, b_id=b.id, a_name=a.name, b_name=b.name),
                    _("两个外部区域之间的访问不经过云平台，不能备案；请删除这一项"),
                )
            if key == "default_egress" and not zones.flow_allowed(a, b):
                yield SITE.at(
                    at,
                    _(
                        "默认出网方向 [{a_id}, {b_id}]（{a_name} → {b_name}）不在 flows 允许的方向中"
                    ).format(a_id=a.id, b_id=b.id, a_name=a.name, b_name=b.name),
                    _("在 flows 中加入 [{a_id}, {b_id}]，或从 default_egress 中删除").format(
                        a_id=a.id, b_id=b.id
                    ),
                )


def _bastions(zones: Zones) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for b in zones.bastions:
        zone = zones.zone(b.zone)
        if zone is None:
            yield SITE.at(
                b.at / "zone",
                _(
                    "堡垒机 {b_address} 所在区域 {b_zone!r} 不存在；已定义的区域：{zone_list}"
                ).format(b_address=b.address, b_zone=b.zone, zone_list=_zone_list(zones)),
                _(_HINT_REF),
            )
        elif not zone.internal:
            yield SITE.at(
                b.at / "zone",
                _("堡垒机 {b_address} 位于外部区域 {zone_name}({zone_id})").format(
                    b_address=b.address, zone_name=zone.name, zone_id=zone.id
                ),
                _("堡垒机是云服务单位在云内提供的主机，应位于内部区域（政务外网区或互联网区）"),
            )
        elif not grammar.ranges_contain(zone.ranges, ((b.value, b.value),)):
            yield SITE.at(
                b.at / "address",
                _(
                    "堡垒机地址 {b_address} 不在其区域 {zone_name}({zone_id}) 的地址池 {zone_cidrs} 内"
                ).format(
                    b_address=b.address,
                    zone_name=zone.name,
                    zone_id=zone.id,
                    zone_cidrs=_("、").join(zone.cidrs),
                ),
                _("堡垒机地址必须属于它所在区域的地址池；请核对地址或 zone"),
            )
        if b.value in seen:
            yield SITE.at(
                b.at / "address",
                _("堡垒机地址 {b_address} 重复（已属于区域 {seen}）").format(
                    b_address=b.address, seen=seen[b.value]
                ),
                _("每台堡垒机只写一次"),
            )
        else:
            seen[b.value] = b.zone


SITE = Rule(
    "CG100",
    "zones-inconsistent",
    ERROR,
    N_("附件2 注1–4"),
    N_("区域模型（Zones）自相矛盾：未知区域、重复的区域、重叠的地址池、地址池外的堡垒机等"),
    check_site,
)

RULES = [SITE]

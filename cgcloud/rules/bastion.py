"""Bastion-only remote administration (第十九条): SSH (TCP22) and RDP (TCP3389) to a host
in an internal zone may come only from the cloud provider's bastion hosts.

A row that opens TCP22 or TCP3389 (``/`` opens both) to an internal zone passes
only when every source address is a bastion of the row's source zone
(``Zones.bastions``). A range, CIDR, ``0.0.0.0`` or placeholder source that is
not entirely bastion addresses fails. Whether the flow itself is allowed (from
the bastion's zone to the target zone) is CG102's job.
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud import grammar
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import Row, Zones
from cgcloud.rules.base import ERROR, Context, Rule

REMOTE_ADMIN = (("tcp", 22, "SSH"), ("tcp", 3389, "RDP"))


def opened_admin_ports(row: Row) -> list[str]:
    """``TCP22 (SSH)``/``TCP3389 (RDP)`` when the row's ports open them."""
    if row.ports is None:
        return []
    return [
        f"{proto.upper()}{port} ({name})"
        for proto, port, name in REMOTE_ADMIN
        if row.ports.opens(proto, port)
    ]


def _non_bastion(row: Row, zones: Zones) -> str | None:
    """Why the row's source is not only bastions of its zone (None when it is)."""
    source = row.source
    assert source is not None and row.from_zone is not None
    if source.any:
        return _("源地址是 0.0.0.0（不限制）")
    if source.placeholder:
        return _("源地址是占位名 {source_placeholder}，不是堡垒机").format(
            source_placeholder=source.placeholder
        )
    own = {b.value for b in zones.bastions if b.zone == row.from_zone.id}
    others = {
        b.value: (z.name if (z := zones.zone(b.zone)) is not None else b.zone)
        for b in zones.bastions
        if b.zone != row.from_zone.id
    }
    bad: list[str] = []
    for lo, hi in source.ranges:
        if hi - lo + 1 > len(own):
            bad.append(f"{grammar.int_to_ip(lo)}-{grammar.int_to_ip(hi)}")
            continue
        for value in range(lo, hi + 1):
            if value not in own:
                ip = grammar.int_to_ip(value)
                bad.append(
                    _("{ip}（{others} 的堡垒机）").format(ip=ip, others=others[value])
                    if value in others
                    else ip
                )
        if len(bad) > 3:
            break
    if not bad:
        return None
    return _("源地址中 {bad}{more} 不是 {from_zone_name} 的堡垒机").format(
        bad=_("、").join(bad[:3]),
        more=_(" 等") if len(bad) > 3 else "",
        from_zone_name=row.from_zone.name,
    )


def check_bastion_only(ctx: Context) -> Iterator[Finding]:
    zones = ctx.repo.zones
    if zones is None:
        return
    seen: dict[str, list[str]] = {}  # port text → admin ports it opens
    for policy in ctx.repo.policies:
        for row in policy.rules:
            if (
                row.to_zone is None
                or not row.to_zone.internal
                or row.from_zone is None
                or row.source is None
                or row.ports is None
            ):
                continue
            opened = seen.get(row.ports.text)
            if opened is None:
                opened = seen[row.ports.text] = opened_admin_ports(row)
            if not opened:
                continue
            why = _non_bastion(row, zones)
            if why is None:
                continue
            usable = [
                _("{b_address}（{z_name}）").format(b_address=b.address, z_name=z.name)
                for b in zones.bastions
                if (z := zones.zone(b.zone)) is not None and zones.flow_allowed(z, row.to_zone)
            ]
            yield BASTION_ONLY.at(
                row.at / "source",
                _(
                    "{policy_id} 第{row_number}行向内部区域 {to_zone_name} 开放远程管理端口 {opened}，"
                    "但{why}"
                ).format(
                    policy_id=policy.id,
                    row_number=row.number,
                    to_zone_name=row.to_zone.name,
                    opened=_("、").join(opened),
                    why=why,
                ),
                _("第十九条：远程登录内部主机只能经云服务单位的堡垒机；请把源改为堡垒机地址")
                + (" " + _("、").join(usable) if usable else "")
                + _("，或从端口中去掉 TCP22/TCP3389"),
                form=policy,
            )


BASTION_ONLY = Rule(
    "CG310",
    "ssh-rdp-bastion-only",
    ERROR,
    N_("第十九条"),
    N_("向内部区域开放 TCP22/TCP3389（或 /）的行，源地址只能是堡垒机"),
    check_bastion_only,
)

RULES = [BASTION_ONLY]

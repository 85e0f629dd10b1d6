"""Which way traffic may go (附件2 注1): a row's (from, to) must be an allowed flow.

A flow between two external zones never touches the cloud and is its own error
(CG103); it is checked first, so such a row gets CG103 and not CG102 as well.
Inside one internal zone every flow is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import NetworkPolicy, Row, Zone
from cgcloud.rules.base import ERROR, Context, Rule


def _allowed_from(ctx: Context, zone_id: str) -> str:
    zones = ctx.repo.zones
    if zones is None:
        return ""
    names = [
        z.name for f, t, _kind in zones.flows if f == zone_id and (z := zones.zone(t)) is not None
    ]
    return _("、").join(dict.fromkeys(names)) or _("无")


def _rows(ctx: Context) -> Iterator[tuple[NetworkPolicy, Row, Zone, Zone]]:
    for policy in ctx.repo.policies:
        for row in policy.rules:
            if row.from_zone is not None and row.to_zone is not None:
                yield policy, row, row.from_zone, row.to_zone


def check_external(ctx: Context) -> Iterator[Finding]:
    for policy, row, a, b in _rows(ctx):
        if not a.internal and not b.internal:
            yield EXTERNAL_FLOW.at(
                row.at,
                _(
                    "{policy_id} 第{row_number}行是两个外部区域之间的访问（{a_name} → {b_name}），不经过云平台"
                ).format(policy_id=policy.id, row_number=row.number, a_name=a.name, b_name=b.name),
                _(
                    "网络策略备案表只登记进出云内区域（政务外网区、互联网区）的访问；请删除此行，或把一端改为云内区域"
                ),
                form=policy,
            )


def check_allowed(ctx: Context) -> Iterator[Finding]:
    zones = ctx.repo.zones
    if zones is None:
        return
    allowed: dict[tuple[str, str], bool] = {}
    for policy, row, a, b in _rows(ctx):
        if not a.internal and not b.internal:
            continue  # CG103
        ok = allowed.get((a.id, b.id))
        if ok is None:
            ok = allowed[a.id, b.id] = zones.flow_allowed(a, b)
        if not ok:
            yield FLOW_NOT_ALLOWED.at(
                row.at,
                _(
                    "{policy_id} 第{row_number}行的访问方向 {a_name} → {b_name} 不是允许的方向"
                ).format(policy_id=policy.id, row_number=row.number, a_name=a.name, b_name=b.name),
                _(
                    "从 {a_name} 允许访问：{allowed_from}（见 Zones 的 flows）；请改正区域，或经云资源管理部门同意后修改区域模型"
                ).format(a_name=a.name, allowed_from=_allowed_from(ctx, a.id)),
                form=policy,
            )


FLOW_NOT_ALLOWED = Rule(
    "CG102",
    "flow-not-allowed",
    ERROR,
    N_("附件2 注1"),
    N_("（源区域, 目标区域）不是 Zones.flows 允许的访问方向"),
    check_allowed,
)
EXTERNAL_FLOW = Rule(
    "CG103",
    "external-to-external",
    ERROR,
    N_("附件2 注1"),
    N_("两个外部区域之间的访问（不经过云平台，不能备案）"),
    check_external,
)

RULES = [FLOW_NOT_ALLOWED, EXTERNAL_FLOW]

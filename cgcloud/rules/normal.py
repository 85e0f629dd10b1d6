"""Normal (non-high-risk) rows (附件2, 第十二条): they need ``spec.normal`` with a
reason and a period, and at least 审核人1 (云资源管理人) signed on or before the
period start.

A row counts as normal once it is known not to be high-risk: its target zone
resolved and either that zone is external or its ports parsed. Rows that could
not be classified (unknown zone, bad port) are reported by CG101/CG108 only.
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import NetworkPolicy, Row
from cgcloud.rules.base import ERROR, Context, Rule

_MAX_ROWS = 5


def normal_rows(policy: NetworkPolicy) -> list[Row]:
    return [
        row
        for row in policy.rules
        if not policy.is_high_risk(row)
        and row.to_zone is not None
        and (not row.to_zone.internal or row.ports is not None)
    ]


def _rows_text(rows: list[Row]) -> str:
    numbers = _("、").join(_("第{r_number}行").format(r_number=r.number) for r in rows[:_MAX_ROWS])
    return (
        _("普通行：")
        + numbers
        + (_(" 等{n}行").format(n=len(rows)) if len(rows) > _MAX_ROWS else "")
    )


def check_section(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        rows = normal_rows(policy)
        if not rows:
            continue
        section = policy.normal
        if section is None:
            yield SECTION_MISSING.at(
                policy.at / "spec",
                _(
                    "{policy_id} 有普通端口的行，但没有填写普通端口的理由与使用期（spec.normal）；{rows_text}"
                ).format(policy_id=policy.id, rows_text=_rows_text(rows)),
                _("在 spec 下加入 normal: {reason: 申请理由, period: {start: …, end: …}}"),
                key=True,
                form=policy,
            )
            continue
        missing = section.missing()
        if missing:
            yield SECTION_MISSING.at(
                section.at,
                _("{policy_id} 的普通端口缺少{missing}；{rows_text}").format(
                    policy_id=policy.id, missing=_("、").join(missing), rows_text=_rows_text(rows)
                ),
                _("普通端口须写明申请理由和使用期"),
                key=True,
                form=policy,
            )


def check_reviewer(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        rows = normal_rows(policy)
        if not rows:
            continue
        sig = policy.reviewers.get("cloud_resource_manager")
        if sig is None or not sig.signed:
            at = sig.at if sig is not None else policy.at / "spec" / "reviewers"
            yield REVIEWER.at(
                at,
                _("{policy_id} 审核人1（云资源管理人）未签字；{rows_text}").format(
                    policy_id=policy.id, rows_text=_rows_text(rows)
                ),
                _(
                    "普通端口至少需要审核人1 cloud_resource_manager 签字：{by: 姓名, date: 日期}，日期不晚于使用期开始日"
                ),
                key=True,
                form=policy,
            )
            continue
        window = policy.normal.window if policy.normal else None
        if window is not None and sig.date is not None and sig.date > window.start:
            yield REVIEWER.at(
                sig.at / "date",
                _(
                    "{policy_id} 审核人1（云资源管理人 {sig_by}）签字日期 {sig_date} 晚于普通端口使用期开始日 "
                    "{window_start}（{window}）"
                ).format(
                    policy_id=policy.id,
                    sig_by=sig.by,
                    sig_date=sig.date,
                    window_start=window.start,
                    window=window,
                ),
                _("审核人1 须在使用期开始之前（或当天）签字；请核对日期，或推迟使用期开始日"),
                form=policy,
            )


SECTION_MISSING = Rule(
    "CG201",
    "normal-section-missing",
    ERROR,
    N_("附件2"),
    N_("有普通端口的行却缺少 spec.normal 或其理由、使用期"),
    check_section,
)
REVIEWER = Rule(
    "CG202",
    "normal-reviewer",
    ERROR,
    N_("附件2"),
    N_("普通端口的审核人1（云资源管理人）未签字，或签字晚于使用期开始日"),
    check_reviewer,
)

RULES = [SECTION_MISSING, REVIEWER]

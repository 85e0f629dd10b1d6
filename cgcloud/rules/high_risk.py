"""High-risk ports (第十三条): a row whose target is in an internal zone and whose ports
meet the HighRiskPorts list needs its own reason and period (at most one calendar
month), all three reviewers, and a restricted source.

``model.resolve`` has already marked the high-risk rows; every message here names
the rows and the list entries they matched (``TCP3306 (MySQL)``), so a reviewer
sees why a row counts as high-risk.
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud import clock
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import REVIEWER_ROLES, NetworkPolicy, Row, Section
from cgcloud.rules.base import ERROR, WARNING, Context, Rule

ROLE_LABELS = {
    "cloud_resource_manager": N_("审核人1 云资源管理人"),
    "business_leader": N_("审核人2 对口业务分管负责人"),
    "cloud_resource_leader": N_("审核人3 云资源分管负责人"),
}
_MAX_ROWS = 5
_MAX_ENTRIES = 3


def matched_entries(ctx: Context, row: Row) -> str:
    """The HighRiskPorts entries a row's ports meet, e.g. ``TCP3306 (MySQL)``."""
    hrp = ctx.repo.high_risk_ports
    if hrp is None or row.ports is None:
        return ""
    if row.ports.any:
        return _("/ 命中全部高危端口")
    names = [f"{p.ports} ({p.name})" for p in hrp.matches(row.ports)]
    text = _("、").join(names[:_MAX_ENTRIES])
    if len(names) > _MAX_ENTRIES:
        text += _(" 等{n}项").format(n=len(names))
    return text


def high_risk_rows(policy: NetworkPolicy) -> list[Row]:
    return [row for row in policy.rules if policy.is_high_risk(row)]


def rows_summary(ctx: Context, policy: NetworkPolicy) -> str:
    """``高危行：第6行 TCP3306 (MySQL)、…`` (or a note that there are none)."""
    rows = high_risk_rows(policy)
    if not rows:
        return _("本表目前没有高危行")
    parts = [
        _("第{r_number}行 {matched_entries}").format(
            r_number=r.number, matched_entries=matched_entries(ctx, r)
        )
        for r in rows[:_MAX_ROWS]
    ]
    more = _(" 等{n}行").format(n=len(rows)) if len(rows) > _MAX_ROWS else ""
    return _("高危行：") + _("；").join(parts) + more


def _exception_ok(section: Section) -> bool:
    exc = section.exception
    return exc is not None and exc.signed and bool(section.exception_reason)


# --------------------------------------------------------------------------- CG301/302/306


def _long_windows(ctx: Context) -> Iterator[tuple[NetworkPolicy, Section, str]]:
    """High-risk windows longer than one calendar month, with the message's first part."""
    for policy in ctx.repo.policies:
        section = policy.high_risk
        if section is None or section.window is None:
            continue
        window = section.window
        last = clock.max_high_risk_end(window.start)
        if window.end > last:
            yield (
                policy,
                section,
                (
                    _(
                        "高危端口使用期超过一个月（{window}，共{window_days}天），从 {window_start} 开始最晚只能到 "
                        "{last}；{rows_summary}"
                    ).format(
                        window=window,
                        window_days=window.days,
                        window_start=window.start,
                        last=last,
                        rows_summary=rows_summary(ctx, policy),
                    )
                ),
            )


def check_window(ctx: Context) -> Iterator[Finding]:
    for policy, section, what in _long_windows(ctx):
        if _exception_ok(section):
            continue  # CG302
        assert section.window is not None
        last = clock.max_high_risk_end(section.window.start)
        yield TOO_LONG.at(
            section.at / "period" / "end",
            what,
            _(
                "把 end 改为 {last} 或更早；确需更长时间，请在 high_risk.exception 中写明 reason（理由）"
                "、by（批准人）、date（批准日期，不晚于开始日）"
            ).format(last=last),
            form=policy,
        )


def check_window_exception(ctx: Context) -> Iterator[Finding]:
    for policy, section, what in _long_windows(ctx):
        exc = section.exception
        if exc is None or not _exception_ok(section):
            continue  # CG301
        yield LONG_WITH_EXCEPTION.at(
            section.at / "period" / "end",
            _("{what}。已有超期例外（{by} {date} 批准：{section_exception_reason}）").format(
                what=what,
                by=exc.by,
                date=exc.date,
                section_exception_reason=section.exception_reason,
            ),
            _("超期使用期经例外批准，仅作提醒；到期后请及时关闭高危端口"),
            form=policy,
        )


def check_exception_date(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        section = policy.high_risk
        if section is None or section.window is None or section.exception is None:
            continue
        exc = section.exception
        if exc.date is not None and exc.date > section.window.start:
            yield EXCEPTION_LATE.at(
                exc.at / "date",
                _(
                    "高危端口超期例外的批准日期 {date} 晚于使用期开始日 {window_start}（{section_window}）"
                    "；{rows_summary}"
                ).format(
                    date=exc.date,
                    window_start=section.window.start,
                    section_window=section.window,
                    rows_summary=rows_summary(ctx, policy),
                ),
                _("超期例外必须在使用期开始之前（或当天）批准；请核对日期，或推迟使用期开始日"),
                form=policy,
            )


# --------------------------------------------------------------------------- CG303


def check_section(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        if not policy.high_risk_rows:
            continue
        section = policy.high_risk
        if section is None:
            yield SECTION_MISSING.at(
                policy.at / "spec",
                _(
                    "{policy_id} 有高危行，但没有填写高危端口的理由与使用期（spec.high_risk）；{summary}"
                ).format(policy_id=policy.id, summary=rows_summary(ctx, policy)),
                _(
                    "在 spec 下加入 high_risk: {reason: 开放理由, period: {start: …, end: "
                    "…}}，使用期最长一个月"
                ),
                key=True,
                form=policy,
            )
            continue
        missing = section.missing()
        if missing:
            yield SECTION_MISSING.at(
                section.at,
                _("{policy_id} 的高危端口缺少{missing}；{summary}").format(
                    policy_id=policy.id,
                    missing=_("、").join(missing),
                    summary=rows_summary(ctx, policy),
                ),
                _("高危端口须单独写明理由和使用期（最长一个月）"),
                key=True,
                form=policy,
            )


# --------------------------------------------------------------------------- CG304


def check_reviewers(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        if not policy.high_risk_rows:
            continue
        window = policy.high_risk.window if policy.high_risk else None
        seen: dict[str, str] = {}
        for role in REVIEWER_ROLES:
            sig = policy.reviewers.get(role)
            label = _(ROLE_LABELS[role])
            if sig is None or not sig.signed:
                at = sig.at if sig is not None else policy.at / "spec" / "reviewers" / role
                yield REVIEWERS.at(
                    at,
                    _("{policy_id} 有高危行，{label}未签字；{summary}").format(
                        policy_id=policy.id, label=label, summary=rows_summary(ctx, policy)
                    ),
                    _(
                        "高危端口须三名审核人（云资源管理人、对口业务分管负责人、云资源分管负责人）全部签字"
                    ),
                    key=True,
                    form=policy,
                )
                continue
            assert sig.by is not None
            if sig.by in seen:
                yield REVIEWERS.at(
                    sig.at / "by",
                    _("{policy_id} 的{label}与{seen}是同一人（{sig_by}）；{summary}").format(
                        policy_id=policy.id,
                        label=label,
                        seen=seen[sig.by],
                        sig_by=sig.by,
                        summary=rows_summary(ctx, policy),
                    ),
                    _("高危端口的三名审核人必须是三个不同的人"),
                    form=policy,
                )
            else:
                seen[sig.by] = label
            if window is not None and sig.date is not None and sig.date > window.start:
                yield REVIEWERS.at(
                    sig.at / "date",
                    _(
                        "{policy_id} 的{label}（{sig_by}）签字日期 {sig_date} 晚于高危端口使用期开始日 {window_start}；"
                        "{summary}"
                    ).format(
                        policy_id=policy.id,
                        label=label,
                        sig_by=sig.by,
                        sig_date=sig.date,
                        window_start=window.start,
                        summary=rows_summary(ctx, policy),
                    ),
                    _("审核人须在使用期开始之前（或当天）签字；请核对日期，或推迟使用期开始日"),
                    form=policy,
                )


# --------------------------------------------------------------------------- CG305


def too_wide(ranges: tuple[tuple[int, int], ...], prefix: int) -> bool:
    """True when the fewest CIDRs of ``ranges`` (merged) include one wider than /prefix.

    That happens exactly when a range holds a whole aligned block of the next wider
    size (/prefix-1): the fewest-CIDR split always takes maximal aligned blocks.
    Integer arithmetic only, so 50,000 rows need no netaddr.
    """
    if prefix <= 0:
        return False
    size = 1 << (33 - prefix)
    for lo, hi in ranges:
        start = -(-lo // size) * size
        if start + size - 1 <= hi:
            return True
    return False


def check_source(ctx: Context) -> Iterator[Finding]:
    hrp = ctx.repo.high_risk_ports
    prefix = hrp.max_source_prefix if hrp is not None else 24
    for policy in ctx.repo.policies:
        for row in high_risk_rows(policy):
            source = row.source
            if source is None or source.placeholder:
                continue  # unparsed (CG107), or one host
            if not source.any and not too_wide(source.ranges, prefix):
                continue
            where = _("{policy_id} 第{row_number}行是高危行（{matched_entries}）").format(
                policy_id=policy.id,
                row_number=row.number,
                matched_entries=matched_entries(ctx, row),
            )
            if source.any:
                yield SOURCE_WIDE.at(
                    row.at / "source",
                    _("{where}，源地址却是 0.0.0.0（不限制）").format(where=where),
                    _("高危端口必须限制源地址：写具体地址或不宽于 /{prefix} 的网段").format(
                        prefix=prefix
                    ),
                    form=policy,
                )
                continue
            wide = [c for c in source.cidrs if int(c.rsplit("/", 1)[1]) < prefix]
            if wide:
                yield SOURCE_WIDE.at(
                    row.at / "source",
                    _(
                        "{where}，源地址 {source_text} 过宽：合并后含 {wide}{more}，宽于 /{prefix}"
                    ).format(
                        where=where,
                        source_text=source.text.strip(),
                        wide=_("、").join(wide[:3]),
                        more=_(" 等") if len(wide) > 3 else "",
                        prefix=prefix,
                    ),
                    _(
                        "高危端口的源地址每段不得宽于 /{prefix}（相邻网段合并后也算）；请缩小源地址范围"
                    ).format(prefix=prefix),
                    form=policy,
                )


TOO_LONG = Rule(
    "CG301",
    "high-risk-window-too-long",
    ERROR,
    N_("第十三条"),
    N_("高危端口使用期超过一个自然月且没有超期例外"),
    check_window,
)
LONG_WITH_EXCEPTION = Rule(
    "CG302",
    "high-risk-window-exception",
    WARNING,
    N_("第十三条"),
    N_("高危端口使用期超过一个自然月，已有超期例外（high_risk.exception）"),
    check_window_exception,
)
SECTION_MISSING = Rule(
    "CG303",
    "high-risk-section-missing",
    ERROR,
    N_("第十三条"),
    N_("有高危行却缺少 spec.high_risk 或其理由、使用期"),
    check_section,
)
REVIEWERS = Rule(
    "CG304",
    "high-risk-reviewers",
    ERROR,
    N_("第十三条"),
    N_("高危端口须三名审核人全部签字、互不相同，且签字不晚于使用期开始日"),
    check_reviewers,
)
SOURCE_WIDE = Rule(
    "CG305",
    "high-risk-source-too-wide",
    ERROR,
    N_("第十三条"),
    N_("高危行的源地址为 0.0.0.0 或宽于 HighRiskPorts.max_source_prefix（默认 /24）"),
    check_source,
)
EXCEPTION_LATE = Rule(
    "CG306",
    "high-risk-exception-late",
    ERROR,
    N_("第十三条"),
    N_("高危端口超期例外的批准日期晚于使用期开始日"),
    check_exception_date,
)

RULES = [TOO_LONG, LONG_WITH_EXCEPTION, SECTION_MISSING, REVIEWERS, SOURCE_WIDE, EXCEPTION_LATE]

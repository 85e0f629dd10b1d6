"""ShutdownNotice rules (附件3 云主机关停通知单).

* CG601 — the notice names a system with no ResourceApplication in the repository.
* CG602 — a host that is not a single IPv4 address inside an internal zone's
  pools (unparseable, a list/range/CIDR, a placeholder, or an external address).
* CG603 — dates out of order. The form is signed in sequence, so:
  ``tech_division.date ≤ business_division.date ≤ prepare_by ≤ shutdown_date``
  and ``business_division.date ≤ operator.date`` (the operator confirms a
  shutdown that has been arranged). An operator confirmation dated *after*
  ``shutdown_date`` is not an error: the spec's lifecycle expects a late
  confirmation (until it comes the hosts are untouched and CG604 reports the
  delay; once it comes they are powered off).
* CG604 — ``shutdown_date`` reached (today ≥ shutdown_date, the business
  division having signed) but the operator has not confirmed ``data_copied``:
  the hosts are not touched and the delay is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from cgcloud import grammar
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import At, ShutdownNotice, Zone
from cgcloud.rules.base import ERROR, WARNING, Context, Rule


def check_system_exists(ctx: Context) -> Iterator[Finding]:
    systems = {app.system for app in ctx.repo.applications}
    for notice in ctx.repo.shutdowns:
        if notice.system not in systems:
            yield UNKNOWN_SYSTEM.at(
                notice.at / "metadata" / "system",
                _(
                    "关停通知单 {notice_id} 的系统“{notice_system}”在仓库中没有任何云资源申请单"
                ).format(notice_id=notice.id, notice_system=notice.system),
                _("请核对系统名称是否与申请单的 metadata.system 完全一致"),
                form=notice,
            )


def check_hosts(ctx: Context) -> Iterator[Finding]:
    zones = ctx.repo.zones
    internal = [z for z in zones.zones if z.internal] if zones is not None else []
    for notice in ctx.repo.shutdowns:
        for text, at in notice.hosts:
            problem = _host_problem(text.strip(), internal)
            if problem:
                yield BAD_HOST.at(
                    at,
                    _("关停通知单 {notice_id} 的主机 {text!r} {problem}").format(
                        notice_id=notice.id, text=text, problem=problem
                    ),
                    _(
                        "每项只写一台云主机的内网 IPv4 地址（如 172.20.4.21）；关停整个系统请写 all: true"
                    ),
                    form=notice,
                )


def _host_problem(text: str, internal: list[Zone]) -> str:
    try:
        value = grammar.ip_to_int(text)
    except grammar.GrammarError as exc:
        return _("不是单个 IPv4 地址（{exc}）").format(exc=exc)
    for zone in internal:
        if any(lo <= value <= hi for lo, hi in zone.ranges):
            return ""
    names = _("、").join(f"{z.name} {','.join(z.cidrs)}" for z in internal)
    return _("不在任何内部区域的地址池内（{names}）").format(names=names)


def _pairs(n: ShutdownNotice) -> list[tuple[str, date | None, str, date | None, At]]:
    """(earlier name, date, later name, date, where the later one is) — must not decrease."""
    spec = n.at / "spec"
    tech = n.tech_division.date if n.tech_division and n.tech_division.signed else None
    biz = n.business_division.date if n.business_division and n.business_division.signed else None
    op = n.operator.date if n.operator and n.operator.signed else None
    bd = spec / "business_division"
    return [
        (_("科技处签字日期"), tech, _("业务处室签字日期"), biz, bd / "date"),
        (_("业务处室签字日期"), biz, _("准备完成日期 prepare_by"), n.prepare_by, bd / "prepare_by"),
        (
            _("准备完成日期 prepare_by"),
            n.prepare_by,
            _("关停日期 shutdown_date"),
            n.shutdown_date,
            bd / "shutdown_date",
        ),
        (_("业务处室签字日期"), biz, _("运维单位确认日期"), op, spec / "operator" / "date"),
    ]


def check_dates(ctx: Context) -> Iterator[Finding]:
    for notice in ctx.repo.shutdowns:
        for first_name, first, later_name, later, at in _pairs(notice):
            if first is not None and later is not None and later < first:
                yield DATE_ORDER.at(
                    at,
                    _(
                        "关停通知单 {notice_id} 的{later_name} {later} 早于{first_name} {first}"
                    ).format(
                        notice_id=notice.id,
                        later_name=later_name,
                        later=later,
                        first_name=first_name,
                        first=first,
                    ),
                    _(
                        "关停通知单依次为：科技处建议 ≤ 业务处室同意 ≤ 准备完成日期 ≤ 关停日期，运维单位在业务处室同意之后确认；请核对日期"
                    ),
                    form=notice,
                )


def check_not_confirmed(ctx: Context) -> Iterator[Finding]:
    for notice in ctx.repo.shutdowns:
        biz = notice.business_division
        if biz is None or not biz.signed or notice.shutdown_date is None:
            continue
        if ctx.today < notice.shutdown_date:
            continue
        op = notice.operator
        if op is not None and op.signed and notice.data_copied:
            continue
        late = (ctx.today - notice.shutdown_date).days
        what = (
            _("未签字")
            if op is None or not op.signed
            else _("未确认已复制数据（data_copied 不为 true）")
        )
        yield NOT_CONFIRMED.at(
            notice.at / "spec" / "operator",
            _(
                "关停通知单 {notice_id} 的关停日期 {notice_shutdown_date} 已到（已延迟 {late} "
                "天），但运维单位{what}：主机暂不关机"
            ).format(
                notice_id=notice.id, notice_shutdown_date=notice.shutdown_date, late=late, what=what
            ),
            _("运维单位完成关停前准备（数据备份/复制）后，签字并填写 data_copied: true"),
            key=True,
            form=notice,
        )


UNKNOWN_SYSTEM = Rule(
    "CG601",
    "shutdown-unknown-system",
    ERROR,
    N_("附件3"),
    N_("关停通知单的系统在仓库中没有云资源申请单"),
    check_system_exists,
)
BAD_HOST = Rule(
    "CG602",
    "shutdown-bad-host",
    ERROR,
    N_("附件3"),
    N_("关停主机不是内部区域中的单个 IPv4 地址"),
    check_hosts,
)
DATE_ORDER = Rule(
    "CG603",
    "shutdown-date-order",
    ERROR,
    N_("附件3"),
    N_("关停通知单的签字日期、准备日期与关停日期顺序颠倒"),
    check_dates,
)
NOT_CONFIRMED = Rule(
    "CG604",
    "shutdown-not-confirmed",
    WARNING,
    N_("附件3"),
    N_("关停日期已到但运维单位未确认完成关停前准备，主机暂不关停"),
    check_not_confirmed,
)

RULES = [UNKNOWN_SYSTEM, BAD_HOST, DATE_ORDER, NOT_CONFIRMED]

"""Signatures: dates, the Roster, the approval order, and periods that are over.

* CG401 — any signed box dated after today (a date typo; nobody signs tomorrow).
* CG402 — with a Roster: a signature by someone who does not hold the box's role
  on the signing date. The Roster always governs the people's boxes the spec
  names (``department``, ``initial``, ``recheck``, ``final``,
  ``cloud_resource_manager``, ``business_leader``, ``cloud_resource_leader``).
  The other boxes — the four ProjectApplication sign-offs (signed by
  organisations, not people), ``expert_review`` (an expert panel),
  ``exception``, and the ShutdownNotice boxes — are governed only when the Roster
  names at least one holder of that role: a Roster of people does not make
  every organisation's sign-off an error.
* CG403 — ResourceApplication approvals out of order: department → initial →
  recheck → final, dates not decreasing, and no box signed while an earlier
  one is unsigned.
* CG404 — a NetworkPolicy period wholly in the past: its rows are not active
  (information, not an error).
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import (
    APPROVAL_ORDER,
    Form,
    NetworkPolicy,
    ProjectApplication,
    ResourceApplication,
    Roster,
    ShutdownNotice,
    Signature,
)
from cgcloud.rules.base import ERROR, INFO, Context, Rule

ALWAYS_GOVERNED = frozenset(
    {
        "department",
        "initial",
        "recheck",
        "final",
        "cloud_resource_manager",
        "business_leader",
        "cloud_resource_leader",
    }
)

ROLE_ZH = {
    "department": N_("申请处室审核"),
    "initial": N_("科技处初审"),
    "recheck": N_("科技处复核"),
    "final": N_("科技处终审"),
    "expert_review": N_("专家评审"),
    "cloud_resource_manager": N_("审核人1 云资源管理人"),
    "business_leader": N_("审核人2 对口业务分管负责人"),
    "cloud_resource_leader": N_("审核人3 云资源分管负责人"),
    "exception": N_("高危端口超期例外审批"),
    "tech_division": N_("科技处（建议关闭）"),
    "business_division": N_("业务处室（同意关停）"),
    "operator": N_("运维单位（关停前准备）"),
    "integrator": N_("总集单位"),
    "supervisor": N_("监理单位"),
    "project_manager": N_("项目管理单位"),
    "cloud_provider": N_("云服务单位"),
}


def signatures_of(form: Form) -> list[Signature]:
    """Every signature box of a form, signed or not (absent boxes included when modelled)."""
    out: list[Signature] = []
    if isinstance(form, ResourceApplication):
        out.extend(form.approvals[r] for r in APPROVAL_ORDER if r in form.approvals)
        if form.expert_review is not None:
            out.append(form.expert_review)
    elif isinstance(form, NetworkPolicy):
        out.extend(form.reviewers.values())
        if form.high_risk is not None and form.high_risk.exception is not None:
            out.append(form.high_risk.exception)
    elif isinstance(form, ShutdownNotice):
        out.extend(s for s in (form.tech_division, form.business_division, form.operator) if s)
    elif isinstance(form, ProjectApplication):
        out.extend(form.signoffs.values())
    return out


def role_name(role: str) -> str:
    """The signature box's name in the user's language (the role itself when unknown)."""
    return _(ROLE_ZH[role]) if role in ROLE_ZH else role


def check_future_dates(ctx: Context) -> Iterator[Finding]:
    for form in ctx.repo.forms:
        for sig in signatures_of(form):
            if sig.signed and sig.date is not None and sig.date > ctx.today:
                yield FUTURE.at(
                    sig.at / "date",
                    _("表单 {form_id} 的“{box}”签字日期 {sig_date} 晚于今天 {today}").format(
                        form_id=form.id, box=role_name(sig.role), sig_date=sig.date, today=ctx.today
                    ),
                    _("签字日期不能在将来，请核对是否写错年份或月份"),
                    form=form,
                )


def _governed(roster: Roster) -> set[str]:
    named = {role for person in roster.people for role in person.roles}
    return set(ALWAYS_GOVERNED) | named


def check_roster(ctx: Context) -> Iterator[Finding]:
    roster = ctx.repo.roster
    if roster is None:
        return
    governed = _governed(roster)
    for form in ctx.repo.forms:
        for sig in signatures_of(form):
            if not sig.signed or sig.date is None or sig.role not in governed:
                continue
            assert sig.by is not None
            entries = [p for p in roster.people if p.name == sig.by]
            if any(p.holds(sig.role, sig.date) for p in entries):
                continue
            with_role = [p for p in entries if sig.role in p.roles]
            if not entries:
                found = _("签字人名册中没有“{sig_by}”").format(sig_by=sig.by)
            elif not with_role:
                found = _("名册中“{sig_by}”的角色为 {roles}，不含 {sig_role}").format(
                    sig_by=sig.by,
                    roles=_("、").join(r for p in entries for r in p.roles),
                    sig_role=sig.role,
                )
            else:
                spans = _("；").join(
                    _("{start} 至 {end}").format(start=p.start or _("不限"), end=p.end or _("不限"))
                    for p in with_role
                )
                found = _("“{sig_by}”持有该角色的期间为 {spans}，不含签字日期").format(
                    sig_by=sig.by, spans=spans
                )
            yield ROSTER.at(
                sig.at / "by",
                _(
                    "表单 {form_id} 的“{box}”由 {sig_by} 于 {sig_date} 签字，但其当日不持有角色 {sig_role}："
                    "{found}"
                ).format(
                    form_id=form.id,
                    box=role_name(sig.role),
                    sig_by=sig.by,
                    sig_date=sig.date,
                    sig_role=sig.role,
                    found=found,
                ),
                _("请由名册中当日持有该角色的人签字，或更新签字人名册（Roster）"),
                form=form,
            )


def check_approval_order(ctx: Context) -> Iterator[Finding]:
    for app in ctx.repo.applications:
        boxes = [app.approvals[r] for r in APPROVAL_ORDER if r in app.approvals]
        last_signed: Signature | None = None
        for i, sig in enumerate(boxes):
            if not sig.signed:
                later = [s for s in boxes[i + 1 :] if s.signed]
                if later:
                    yield ORDER.at(
                        sig.at,
                        _(
                            "表单 {app_id} 的“{box}”已签字，但在它之前的“{earlier_box}”未签字"
                        ).format(
                            app_id=app.id,
                            box=role_name(later[0].role),
                            earlier_box=role_name(sig.role),
                        ),
                        _(
                            "审批须按 申请处室审核 → 科技处初审 → 科技处复核 → 科技处终审 依次签署；请补签前一栏，或撤回后一栏的签字"
                        ),
                        key=True,
                        form=app,
                    )
                continue
            if (
                last_signed is not None
                and sig.date is not None
                and last_signed.date is not None
                and sig.date < last_signed.date
            ):
                yield ORDER.at(
                    sig.at / "date",
                    _(
                        "表单 {app_id} 的“{box}”签字日期 {sig_date} 早于前一栏“{earlier_box}”的 {last_signed_date}"
                    ).format(
                        app_id=app.id,
                        box=role_name(sig.role),
                        sig_date=sig.date,
                        earlier_box=role_name(last_signed.role),
                        last_signed_date=last_signed.date,
                    ),
                    _("审批日期不能倒序，请核对签字日期"),
                    form=app,
                )
            last_signed = sig


NORMAL_PORTS, HIGH_RISK_PORTS = N_("普通端口"), N_("高危端口")  # translated when reported


def check_past_periods(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.repo.policies:
        for name, section in ((NORMAL_PORTS, policy.normal), (HIGH_RISK_PORTS, policy.high_risk)):
            if section is None or section.window is None:
                continue
            if section.window.is_past(ctx.now):
                yield PAST.at(
                    section.at / "period",
                    _(
                        "表单 {policy_id} 的{name}使用期 {section_window} 已结束，其规则不再生效"
                    ).format(policy_id=policy.id, name=_(name), section_window=section.window),
                    _("如仍需开放，请重新备案新的使用期；否则可将该表单归档"),
                    form=policy,
                )


FUTURE = Rule(
    "CG401",
    "signature-in-future",
    ERROR,
    N_("附件1–4 签字栏"),
    N_("签字日期晚于今天（日期笔误）"),
    check_future_dates,
)
ROSTER = Rule(
    "CG402",
    "signer-not-in-roster",
    ERROR,
    N_("附件1–4 签字栏"),
    N_("签字人在签字当日不持有该签字栏的角色（依签字人名册）"),
    check_roster,
)
ORDER = Rule(
    "CG403",
    "approval-order",
    ERROR,
    N_("附件1 审批流程"),
    N_("申请单审批未按 申请处室→初审→复核→终审 顺序签署或日期倒序"),
    check_approval_order,
)
PAST = Rule(
    "CG404",
    "period-past",
    INFO,
    N_("第十二条"),
    N_("网络策略使用期已全部结束，其规则不再生效"),
    check_past_periods,
)

RULES = [FUTURE, ROSTER, ORDER, PAST]

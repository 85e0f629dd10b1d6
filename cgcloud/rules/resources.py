"""ResourceApplication rules: pending forms, the annual plan, expand, lapsed quota.

* CG501 (info) — final unsigned: the form is pending (validated, not reconciled).
* CG502 (error) / CG503 (warning) — 第十一条: the approved forms of a department
  and year must fit its AnnualPlan (vCPU, memory, disk = system disks × count +
  volumes, public IPs; equal fits). Forms are added in order of final-approval
  date, then id; the form at which the running sum first passes the plan, and
  every later form that adds to a dimension already over it, are outside the
  plan and need ``expert_review``: without it CG502 (pointing at the form's
  ``spec``, where the review belongs), with it CG503. A department with no
  AnnualPlan for the year is wholly outside the plan: every approved form
  needs ``expert_review``. Several AnnualPlans of one department and year add up.
* CG504 (warning) — an ``expand`` form with no earlier approved ``new`` form for
  the same system and year (approved ≤ the expand form's final date; for a
  pending expand form, any approved ``new`` form counts).
* CG505 (warning) — lapsed quota: the system has approved forms only for years
  before ``today.year`` and none for the current year. A finding, never a
  deletion. A system wholly decommissioned (a ShutdownNotice with ``all: true``)
  is not reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import AnnualPlan, ResourceApplication
from cgcloud.rules.base import ERROR, INFO, WARNING, Context, Rule

# each dimension of a plan or an application, by its name in messages
DIMENSIONS = {
    "vcpu": "vCPU",
    "memory_gb": N_("内存"),
    "disk_gb": N_("存储"),
    "public_ip": N_("公网 IP"),
}


def _final_date(app: ResourceApplication) -> date:
    final = app.approvals.get("final")
    return final.date if final is not None and final.date is not None else date.max


def check_pending(ctx: Context) -> Iterator[Finding]:
    for app in ctx.repo.applications:
        if app.approved:
            continue
        missing = [r for r, s in app.approvals.items() if not s.signed]
        yield PENDING.at(
            app.approvals["final"].at,
            _(
                "申请单 {app_id}（{app_system}，{app_year} 年度）终审未签字，尚未批准：已校验，但不会开通（未签字栏："
                "{missing}）"
            ).format(
                app_id=app.id,
                app_system=app.system,
                app_year=app.year,
                missing=_("、").join(missing),
            ),
            _("终审（approvals.final）签字后才会开通"),
            key=True,
            form=app,
        )


def _plan_totals(plans: list[AnnualPlan]) -> dict[str, int]:
    out = dict.fromkeys(DIMENSIONS, 0)
    for p in plans:
        for d in DIMENSIONS:
            out[d] += int(getattr(p, d))
    return out


def _outside_plan(ctx: Context) -> Iterator[tuple[ResourceApplication, str]]:
    """Approved forms outside their department's annual plan, with what is over."""
    plans: dict[tuple[str, int], list[AnnualPlan]] = defaultdict(list)
    for plan in ctx.repo.plans:
        plans[(plan.department, plan.year)].append(plan)
    groups: dict[tuple[str, int], list[ResourceApplication]] = defaultdict(list)
    for app in ctx.repo.applications:
        if app.approved:
            groups[(app.department, app.year)].append(app)

    for (department, year), apps in groups.items():
        apps.sort(key=lambda a: (_final_date(a), a.id))
        plan_list = plans.get((department, year))
        if not plan_list and ctx.repo.might_hold("AnnualPlan", department):
            continue  # the plan may be in a file that failed to load (its own finding)
        if not plan_list:
            for app in apps:
                yield (
                    app,
                    _(
                        "处室“{department}”没有 {year} 年度云资源计划（AnnualPlan），申请单 {app_id} 属于计划外资源"
                    ).format(department=department, year=year, app_id=app.id),
                )
            continue
        limit = _plan_totals(plan_list)
        running = dict.fromkeys(DIMENSIONS, 0)
        for app in apps:
            adds = app.totals()
            for d in DIMENSIONS:
                running[d] += adds[d]
            over = [d for d in DIMENSIONS if running[d] > limit[d] and adds[d] > 0]
            if not over:
                continue
            detail = _("；").join(
                _("{dimension} 累计 {running} 超过计划 {limit}").format(
                    dimension=_(DIMENSIONS[d]), running=running[d], limit=limit[d]
                )
                for d in over
            )
            yield (
                app,
                _(
                    "处室“{department}”{year} 年度已批准的申请单（按终审日期累计到 {app_id}）超出年度计划 {id}："
                    "{detail}"
                ).format(
                    department=department,
                    year=year,
                    app_id=app.id,
                    id=plan_list[0].id,
                    detail=detail,
                ),
            )


def _reviewed(app: ResourceApplication) -> bool:
    return app.expert_review is not None and app.expert_review.signed


def check_outside_plan(ctx: Context) -> Iterator[Finding]:
    for app, what in _outside_plan(ctx):
        if not _reviewed(app):
            yield OUTSIDE_PLAN.at(
                app.at / "spec",
                _("{what}，且没有专家评审（expert_review）").format(what=what),
                _(
                    "计划外资源须经专家评审（第十一条）：补充 spec.expert_review（by、date、conclusion），"
                    "或减少申请量、调整年度计划"
                ),
                key=True,
                form=app,
            )


def check_outside_plan_reviewed(ctx: Context) -> Iterator[Finding]:
    for app, what in _outside_plan(ctx):
        review = app.expert_review
        if review is not None and review.signed:
            yield OUTSIDE_REVIEWED.at(
                review.at,
                _("{what}；已有专家评审（{review_by}，{review_date}）").format(
                    what=what, review_by=review.by, review_date=review.date
                ),
                _("计划外资源已经专家评审，可开通；请确认年度计划是否需要调整"),
                key=True,
                form=app,
            )


def check_expand(ctx: Context) -> Iterator[Finding]:
    news: dict[tuple[str, int], list[ResourceApplication]] = defaultdict(list)
    for app in ctx.repo.applications:
        if app.type == "new" and app.approved:
            news[(app.system, app.year)].append(app)
    for app in ctx.repo.applications:
        if app.type != "expand":
            continue
        base = news.get((app.system, app.year), [])
        if app.approved:
            when = _final_date(app)
            base = [b for b in base if _final_date(b) <= when]
        if base or ctx.repo.might_hold("ResourceApplication", app.system):
            continue
        yield EXPAND.at(
            app.at / "spec" / "type",
            _(
                "扩容申请单 {app_id} 找不到系统“{app_system}”{app_year} 年度更早批准的新增（new）申请单"
            ).format(app_id=app.id, app_system=app.system, app_year=app.year),
            _("扩容是在同一系统同一年度已批准资源上追加；如是首次申请，请把 type 改为 new"),
            form=app,
        )


def check_lapsed(ctx: Context) -> Iterator[Finding]:
    decommissioned = {s.system for s in ctx.repo.shutdowns if s.all_hosts}
    by_system: dict[str, list[ResourceApplication]] = defaultdict(list)
    for app in ctx.repo.applications:
        if app.approved:
            by_system[app.system].append(app)
    this_year = ctx.today.year
    for system, apps in by_system.items():
        if system in decommissioned:
            continue
        years = {a.year for a in apps}
        if this_year in years:
            continue
        earlier = [a for a in apps if a.year < this_year]
        if not earlier or ctx.repo.might_hold("ResourceApplication", system):
            continue  # (the renewal may be in a file that failed to load)
        last_year = max(a.year for a in earlier)
        last = max(
            (a for a in earlier if a.year == last_year), key=lambda a: (_final_date(a), a.id)
        )
        yield LAPSED.at(
            last.at / "spec" / "year",
            _(
                "系统“{system}”已批准的资源属于 {last_year} 年度（最近一张为 {last_id}），已于 {last_year}-12-31 "
                "后失效，{this_year} 年度没有已批准的申请单续期"
            ).format(system=system, last_year=last_year, last_id=last.id, this_year=this_year),
            _(
                "如系统仍在使用，请提交 {this_year} 年度的申请单；失效的配额只报告，不会自动删除资源"
            ).format(this_year=this_year),
            form=last,
        )


PENDING = Rule(
    "CG501",
    "application-pending",
    INFO,
    N_("附件1 审批流程"),
    N_("申请单终审未签字：待批准，只校验不开通"),
    check_pending,
)
OUTSIDE_PLAN = Rule(
    "CG502",
    "outside-plan-no-review",
    ERROR,
    N_("第八条、第十一条"),
    N_("处室年度已批准资源超出年度计划（或没有年度计划），且该申请单没有专家评审"),
    check_outside_plan,
)
OUTSIDE_REVIEWED = Rule(
    "CG503",
    "outside-plan-reviewed",
    WARNING,
    N_("第八条、第十一条"),
    N_("处室年度已批准资源超出年度计划（或没有年度计划），已有专家评审"),
    check_outside_plan_reviewed,
)
EXPAND = Rule(
    "CG504",
    "expand-without-new",
    WARNING,
    N_("附件1"),
    N_("扩容申请单没有同系统同年度更早批准的新增申请单"),
    check_expand,
)
LAPSED = Rule(
    "CG505",
    "quota-lapsed",
    WARNING,
    N_("第八条"),
    N_("系统已批准资源的年度已过，当年没有申请单续期（配额失效）"),
    check_lapsed,
)

RULES = [PENDING, OUTSIDE_PLAN, OUTSIDE_REVIEWED, EXPAND, LAPSED]

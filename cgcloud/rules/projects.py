"""ProjectApplication rules (附件4 信息化建设项目云资源及安全服务开通申请单).

* CG701 (error) — a form id in ``spec.forms`` that does not exist in the repository
  (quiet when a file that failed to load may hold it: that file has its own finding).
* CG702 (info) — sign-offs incomplete: the bundled forms are pending (not an error).
* CG703 (error) — a bundled id that names neither a ResourceApplication nor a
  NetworkPolicy (an AnnualPlan, a ShutdownNotice, another ProjectApplication).
"""

from __future__ import annotations

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import PROJECT_SIGNOFFS, Form
from cgcloud.rules.base import ERROR, INFO, Context, Rule

BUNDLABLE = ("ResourceApplication", "NetworkPolicy")
KIND_ZH = {
    "AnnualPlan": N_("年度计划"),
    "ResourceApplication": N_("云资源申请单"),
    "NetworkPolicy": N_("网络策略备案表"),
    "ShutdownNotice": N_("关停通知单"),
    "ProjectApplication": N_("项目开通申请单"),
}
SIGNOFF_ZH = {
    "integrator": N_("总集单位"),
    "supervisor": N_("监理单位"),
    "project_manager": N_("项目管理单位"),
    "cloud_provider": N_("云服务单位"),
}


def _index(ctx: Context) -> dict[str, Form]:
    out: dict[str, Form] = {}
    for form in ctx.repo.forms:
        out.setdefault(form.id, form)
    return out


def check_forms_exist(ctx: Context) -> Iterator[Finding]:
    forms = _index(ctx)
    for project in ctx.repo.projects:
        for form_id, at in project.forms:
            if form_id not in forms and not ctx.repo.might_hold(BUNDLABLE, form_id):
                yield MISSING_FORM.at(
                    at,
                    _("项目开通申请单 {project_id} 打包的表单 {form_id} 在仓库中不存在").format(
                        project_id=project.id, form_id=form_id
                    ),
                    _("请核对文档编号，或把该表单加入仓库"),
                    form=project,
                )


def check_form_kinds(ctx: Context) -> Iterator[Finding]:
    forms = _index(ctx)
    for project in ctx.repo.projects:
        for form_id, at in project.forms:
            form = forms.get(form_id)
            if form is not None and form.kind not in BUNDLABLE:
                yield WRONG_KIND.at(
                    at,
                    _(
                        "项目开通申请单 {project_id} 打包的 {form_id} 是{kind_name}（{form_kind}），"
                        "只能打包云资源申请单或网络策略备案表"
                    ).format(
                        project_id=project.id,
                        form_id=form_id,
                        kind_name=_(KIND_ZH[form.kind]) if form.kind in KIND_ZH else form.kind,
                        form_kind=form.kind,
                    ),
                    _("从 spec.forms 中去掉该编号"),
                    form=project,
                )


def check_signoffs(ctx: Context) -> Iterator[Finding]:
    for project in ctx.repo.projects:
        missing = [
            r for r in PROJECT_SIGNOFFS if (s := project.signoffs.get(r)) is None or not s.signed
        ]
        if not missing:
            continue
        ids = _("、").join(f for f, _at in project.forms)
        yield PENDING.at(
            project.at / "spec" / "signoffs",
            _(
                "项目开通申请单 {project_id} 尚缺 {missing} 签字，打包的表单（{ids}）暂不开通"
            ).format(
                project_id=project.id,
                missing=_("、").join(_(SIGNOFF_ZH[r]) for r in missing),
                ids=ids,
            ),
            _("四方单位（总集、监理、项目管理、云服务单位）全部签字后才会开通"),
            key=True,
            form=project,
        )


MISSING_FORM = Rule(
    "CG701",
    "project-form-missing",
    ERROR,
    N_("附件4"),
    N_("项目开通申请单打包的表单在仓库中不存在"),
    check_forms_exist,
)
PENDING = Rule(
    "CG702",
    "project-signoffs-incomplete",
    INFO,
    N_("附件4"),
    N_("四方单位签字不全：打包的表单待开通（不是错误）"),
    check_signoffs,
)
WRONG_KIND = Rule(
    "CG703",
    "project-form-kind",
    ERROR,
    N_("附件4"),
    N_("项目开通申请单只能打包云资源申请单或网络策略备案表"),
    check_form_kinds,
)

RULES = [MISSING_FORM, PENDING, WRONG_KIND]

"""A plan as text (terminal), Markdown (a pull-request comment) or JSON (cgcloud-plan/v1)."""

from __future__ import annotations

import json

from cgcloud import desired as d
from cgcloud.i18n import _
from cgcloud.plan.changes import GLOBAL, Change, Plan

_SIGN = {"create": "+", "update": "~", "delete": "-", "pending": "?", "report": "!"}


def _reasons_text(reasons: list[d.Reason]) -> str:
    parts = []
    for r in reasons[:3]:
        parts.append(d.description_for(r)[len(d.DESCRIPTION_PREFIX) :] if r.row else r.form)
    more = f" +{len(reasons) - 3}" if len(reasons) > 3 else ""
    return "; ".join(parts) + more


def summary_line(plan: Plan) -> str:
    s = plan.summary
    counts = _(
        "计划：新建 {create} 项，更新 {update} 项，删除 {delete} 项，待定 {pending} 项，报告 {report} 项"
    ).format(**{k: s[k] for k in ("create", "update", "delete", "pending", "report")})
    if plan.cloud:
        return counts + _("（云 {cloud}，当前时刻 {now}）").format(cloud=plan.cloud, now=plan.now)
    return counts + _("（当前时刻 {now}）").format(now=plan.now)


def _system(system: str) -> str:
    """A system's heading; the changes of no one system ("(全局)", stable in JSON) translated."""
    return _(GLOBAL) if system == GLOBAL else system


def render_text(plan: Plan) -> str:
    lines = [summary_line(plan)]
    if not plan.has_changes:
        lines.append(_("没有变更：云与已批准的表单一致。"))
    for system, changes in plan.by_system():
        lines.append("")
        lines.append("== " + _system(system))
        for c in changes:
            why = _reasons_text(c.reasons)
            lines.append(f"  {_SIGN[c.action]} {c.kind:8} {c.name}")
            extra = c.detail
            if c.kind in ("quota", "binding", "project") and c.after is not None:
                extra += "  " + _before_after(c)
            lines.append(f"      {extra}" + (f"  [{why}]" if why else ""))
    if plan.notes:
        lines.append("")
        lines.append(_("备注:"))
        lines.extend(f"  - {_system(n.system)}: {n.message}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def _before_after(c: Change) -> str:
    after = c.after or {}
    before = c.before or {}
    return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items())


def render_markdown(plan: Plan) -> str:
    out = [f"### {summary_line(plan)}", ""]
    if not plan.has_changes:
        out += [_("没有变更：云与已批准的表单一致。"), ""]
    for system, changes in plan.by_system():
        out += [
            "#### " + _system(system),
            "",
            _("| | 类型 | 资源 | 说明 | 依据 |"),
            "|---|---|---|---|---|",
        ]
        for c in changes:
            detail = c.detail
            if c.kind in ("quota", "binding") and c.after is not None:
                detail += " " + _before_after(c)
            cells = [_SIGN[c.action], c.kind, f"`{c.name}`", detail, _reasons_text(c.reasons)]
            out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
        out.append("")
    if plan.notes:
        notes = [f"- {_system(n.system)}: {n.message}" for n in plan.notes]
        out += ["#### " + _("备注"), "", *notes, ""]
    return "\n".join(out)


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def render(plan: Plan, fmt: str) -> str:
    return {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt](plan)

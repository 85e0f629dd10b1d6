"""A plan as text (terminal), Markdown (a pull-request comment) or JSON (cgcloud-plan/v1)."""

from __future__ import annotations

import json

from cgcloud import desired as d
from cgcloud.plan.changes import Change, Plan

_SIGN = {"create": "+", "update": "~", "delete": "-", "pending": "?", "report": "!"}


def _reasons_text(reasons: list[d.Reason]) -> str:
    parts = []
    for r in reasons[:3]:
        parts.append(d.description_for(r)[len(d.DESCRIPTION_PREFIX) :] if r.row else r.form)
    more = f" +{len(reasons) - 3}" if len(reasons) > 3 else ""
    return "; ".join(parts) + more


def summary_line(plan: Plan) -> str:
    s = plan.summary
    return (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
        f"{s['pending']} pending, {s['report']} reported"
        + (f" (cloud {plan.cloud}, now {plan.now})" if plan.cloud else f" (now {plan.now})")
    )


def render_text(plan: Plan) -> str:
    lines = [summary_line(plan)]
    if not plan.has_changes:
        lines.append("No changes: the cloud matches the approved forms.")
    for system, changes in plan.by_system():
        lines.append("")
        lines.append(f"== {system}")
        for c in changes:
            why = _reasons_text(c.reasons)
            lines.append(f"  {_SIGN[c.action]} {c.kind:8} {c.name}")
            extra = c.detail
            if c.kind in ("quota", "binding", "project") and c.after is not None:
                extra += "  " + _before_after(c)
            lines.append(f"      {extra}" + (f"  [{why}]" if why else ""))
    if plan.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  - {n.system}: {n.message}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def _before_after(c: Change) -> str:
    after = c.after or {}
    before = c.before or {}
    return ", ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items())


def render_markdown(plan: Plan) -> str:
    out = [f"### {summary_line(plan)}", ""]
    if not plan.has_changes:
        out += ["No changes: the cloud matches the approved forms.", ""]
    for system, changes in plan.by_system():
        out += [
            f"#### {system}",
            "",
            "| | kind | resource | detail | reason |",
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
        out += ["#### Notes", ""] + [f"- {n.system}: {n.message}" for n in plan.notes] + [""]
    return "\n".join(out)


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def render(plan: Plan, fmt: str) -> str:
    return {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt](plan)

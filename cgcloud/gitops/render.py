"""The semantic diff as text (for people, in their language), markdown (for a review) and json
(for CI)."""

from __future__ import annotations

import json

from cgcloud.findings import Finding
from cgcloud.gitops.semdiff import GRANT, MIXED, NEUTRAL, REVOKE, Change, SemanticDiff
from cgcloud.i18n import N_, _

SIGN = {GRANT: "+", REVOKE: "-", MIXED: "~", NEUTRAL: "·"}
EFFECT_LABEL = {
    GRANT: N_("授权/增加"),
    REVOKE: N_("撤销/减少"),
    MIXED: N_("变更"),
    NEUTRAL: N_("表单"),
}
WHOLE_REPO = N_("（全仓库）")  # the heading of changes that belong to no one system


def summary_line(d: SemanticDiff) -> str:
    s = d.summary
    if not d.has_changes and not d.findings:
        return _("{base} → {head}: 没有语义变化").format(base=d.base, head=d.head)
    return _(
        "{base} → {head}: {n} 项变化（授权/增加 {g}，撤销/减少 {r}，变更 {m}，表单 {o}），沿用旧签字 {s} 处"
    ).format(
        base=d.base,
        head=d.head,
        n=s["changes"],
        g=s["grants"],
        r=s["revocations"],
        m=s["mixed"],
        o=s["other"],
        s=s["stale_approvals"],
    )


def _finding_line(f: Finding) -> str:
    return f"{f.file}:{f.line}:{f.column}: {f.severity.value} {f.rule} {f.message}"


def _unread_lines(d: SemanticDiff) -> list[str]:
    out = []
    if d.head_unread:
        out.append(
            _(
                "注意: {head} 中有 {n} 处无法读取的内容，未参与比较（先修正，见 cgcloud validate）:"
            ).format(head=d.head, n=len(d.head_unread))
        )
        out += ["  " + _finding_line(f) for f in d.head_unread]
    if d.base_unread:
        out.append(
            _("注意: {base} 中有 {n} 处无法读取的内容，未参与比较:").format(
                base=d.base, n=len(d.base_unread)
            )
        )
        out += ["  " + _finding_line(f) for f in d.base_unread]
    return out


def by_system(changes: list[Change]) -> list[tuple[str, list[Change]]]:
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.system, []).append(c)
    return sorted(groups.items())


def render_text(d: SemanticDiff) -> str:
    lines = [summary_line(d)]
    for system, changes in by_system(d.changes):
        lines.append("")
        lines.append("== " + (system or _(WHOLE_REPO)))
        for c in changes:
            where = f"{c.file}:{c.line}" if c.file else ""
            lines.append(
                f"  {SIGN[c.effect]} [{c.form}] {c.message}" + (f"  ({where})" if where else "")
            )
    if d.findings:
        lines.append("")
        lines.append(_("审批未更新（CG405）:"))
        lines += ["  " + _finding_line(f) for f in d.findings]
    unread = _unread_lines(d)
    if unread:
        lines.append("")
        lines += unread
    return "\n".join(lines) + "\n"


def md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def change_rows(changes: list[Change]) -> list[str]:
    out = ["| | " + _("表单") + " | " + _("变化") + " | " + _("位置") + " |", "|---|---|---|---|"]
    for c in changes:
        where = f"`{c.file}:{c.line}`" if c.file else ""
        out.append(f"| {SIGN[c.effect]} | {md_cell(c.form)} | {md_cell(c.message)} | {where} |")
    return out


def render_markdown(d: SemanticDiff) -> str:
    out = [f"### {md_cell(summary_line(d))}", ""]
    for system, changes in by_system(d.changes):
        out += ["#### " + md_cell(system or _(WHOLE_REPO)), "", *change_rows(changes), ""]
    if d.findings:
        out += ["#### " + _("审批未更新（CG405）"), ""]
        out += [f"- `{f.file}:{f.line}:{f.column}` {md_cell(f.message)}" for f in d.findings]
        out.append("")
    unread = _unread_lines(d)
    if unread:
        out += ["```", *unread, "```", ""]
    return "\n".join(out)


def render_json(d: SemanticDiff) -> str:
    return json.dumps(d.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render(d: SemanticDiff, fmt: str) -> str:
    return {"text": render_text, "markdown": render_markdown, "json": render_json}[fmt](d)

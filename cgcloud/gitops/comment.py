"""The pull-request comment: the summary a reviewer needs first, the details folded.

Deterministic (no times, no random order) so a bot can find its comment by the
marker line and update it in place instead of adding one per push; kept under
GitHub's 65,536-character limit for a comment body, with a line that says what
was cut (the full text stays in `cgcloud diff` / `validate` output of the job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cgcloud.findings import Finding, Severity
from cgcloud.gitops.render import WHOLE_REPO, by_system, change_rows, md_cell
from cgcloud.gitops.semdiff import GRANT, MIXED, REVOKE, SemanticDiff
from cgcloud.i18n import _

MARKER = "<!-- cgcloud:pr-comment -->"
GITHUB_LIMIT = 65_536


@dataclass(slots=True)
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


def _count(findings: list[Finding], sev: Severity) -> int:
    return sum(1 for f in findings if f.severity is sev)


def _plan_summary(plan: dict[str, Any] | None) -> str:
    if plan is None:
        return _("未计算（本次运行没有提供 plan）")
    s = plan.get("summary", {})
    return _("新建 {c}，修改 {u}，删除 {d}，待批 {p}").format(
        c=s.get("create", 0), u=s.get("update", 0), d=s.get("delete", 0), p=s.get("pending", 0)
    )


def _plan_lines(plan: dict[str, Any]) -> list[str]:
    out = ["| | " + _("类型") + " | " + _("资源") + " | " + _("说明") + " |", "|---|---|---|---|"]
    sign = {"create": "+", "update": "~", "delete": "-", "pending": "…", "report": "!"}
    for system in plan.get("systems", []):
        for c in system.get("changes", []):
            out.append(
                f"| {sign.get(c.get('action'), '?')} | {md_cell(str(c.get('kind', '')))} | "
                f"`{md_cell(str(c.get('name', '')))}` | {md_cell(str(c.get('detail', '')))} |"
            )
    if len(out) == 2:
        out = [_("云上没有需要变更的内容。")]
    return out


def compose(
    findings: list[Finding],
    diff: SemanticDiff,
    plan: dict[str, Any] | None = None,
    limit: int = GITHUB_LIMIT,
) -> str:
    """The comment body: marker, summary table, then folded details within ``limit``."""
    errors, warnings = _count(findings, Severity.ERROR), _count(findings, Severity.WARNING)
    ok = errors == 0
    head = [
        MARKER,
        "### " + (_("cgcloud：校验通过") if ok else _("cgcloud：校验未通过，不能合并")),
        "",
        f"{md_cell(diff.base)} → {md_cell(diff.head)}",
        "",
        "| " + _("项目") + " | " + _("数量") + " |",
        "|---|---|",
        *(
            f"| {label} | {value} |"
            for label, value in (
                (_("错误"), errors),
                (_("警告"), warnings),
                (_("授权/增加"), diff.count(GRANT)),
                (_("撤销/减少"), diff.count(REVOKE)),
                (_("变更"), diff.count(MIXED)),
                (_("云上变更"), md_cell(_plan_summary(plan))),
            )
        ),
        "",
    ]
    sections: list[Section] = []
    shown = [f for f in findings if f.severity is not Severity.INFO]
    if shown:
        sections.append(
            Section(
                _("校验发现（{n}）").format(n=len(shown)),
                [
                    f"- `{f.file}:{f.line}:{f.column}` **{f.severity.value} {f.rule}** {md_cell(f.message)}"
                    for f in shown
                ],
            )
        )
    if diff.changes:
        lines: list[str] = []
        for system, changes in by_system(diff.changes):
            title = md_cell(system or _(WHOLE_REPO))
            lines += [f"**{title}**", "", *change_rows(changes), ""]
        sections.append(Section(_("语义变化（{n}）").format(n=len(diff.changes)), lines))
    else:
        head += [_("表单没有语义变化（行的顺序、注释和备注不算变化）。"), ""]
    if plan is not None:
        sections.append(Section(_("云上计划"), _plan_lines(plan)))
    return _fit(head, sections, limit)


def _fit(head: list[str], sections: list[Section], limit: int) -> str:
    """Join, cutting the details from the end until the body fits ``limit``."""
    total = sum(len(s.lines) for s in sections)
    text = _join(head, sections, 0, total, limit)
    if len(text) <= limit:
        return text
    lo, hi = 0, total  # binary search the number of detail lines kept
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_join(head, sections, total - mid, total, limit)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return _join(head, sections, total - lo, total, limit)


def _join(head: list[str], sections: list[Section], cut: int, total: int, limit: int) -> str:
    keep = total - cut
    out = list(head)
    for s in sections:
        lines = s.lines[:keep]
        keep -= len(lines)
        out += ["<details>", f"<summary>{s.title}</summary>", "", *lines]
        if len(lines) < len(s.lines):
            out.append("")
            out.append(
                _(
                    "…（评论长度上限 {limit} 字符：本节省略了 {n} 行，完整内容见 CI 作业输出的 cgcloud diff / validate）"
                ).format(limit=limit, n=len(s.lines) - len(lines))
            )
        out += ["", "</details>", ""]
    return "\n".join(out)

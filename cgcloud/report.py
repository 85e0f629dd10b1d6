"""Findings → text | json | sarif | github | junit."""

from __future__ import annotations

import json

from cgcloud.findings import Finding, Severity, count
from cgcloud.validate import Validation

FORMATS = ("text", "json", "sarif", "github", "junit")


def render(v: Validation, fmt: str = "text") -> str:
    return {"text": render_text, "json": render_json}[fmt](v)


def render_text(v: Validation) -> str:
    lines = [
        f"{f.file}:{f.line}:{f.column}: {f.severity.value} {f.rule} {f.message}"
        + (f" 建议: {f.hint}" if f.hint else "")
        for f in v.findings
    ]
    lines.append(_summary(v.findings, len(v.files)))
    return "\n".join(lines)


def _summary(findings: list[Finding], files: int) -> str:
    return (
        f"检查了 {files} 个文件：{count(findings, Severity.ERROR)} 个错误，"
        f"{count(findings, Severity.WARNING)} 个警告，{count(findings, Severity.INFO)} 个提示"
    )


def render_json(v: Validation) -> str:
    return json.dumps(
        {
            "files": v.files,
            "summary": {s.value: count(v.findings, s) for s in Severity},
            "findings": [f.to_dict() for f in v.findings],
        },
        ensure_ascii=False,
        indent=2,
    )

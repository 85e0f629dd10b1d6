"""GitLab's code-quality report (a JSON array of issues) for ``cgcloud validate --format gitlab``.

GitLab shows these in the merge request's widget and diff when the job declares
``artifacts: reports: codequality: <file>``. The fields follow GitLab's documented
subset of the Code Climate spec: description, check_name, fingerprint, severity,
location.path, location.lines.begin.
"""

from __future__ import annotations

import hashlib
import json

from cgcloud.findings import Finding, Severity
from cgcloud.i18n import _

# GitLab's severities: info, minor, major, critical, blocker
SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def fingerprint(f: Finding) -> str:
    """Stable across runs (GitLab compares base and head reports by fingerprint)."""
    key = "\x1f".join([f.rule, f.file, str(f.line), str(f.column), f.message])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _description(f: Finding) -> str:
    text = f"{f.rule} {f.message}"
    return _("{text}（{note}）").format(text=text, note=f.hint) if f.hint else text


def issues(findings: list[Finding]) -> list[dict[str, object]]:
    return [
        {
            "description": _description(f),
            "check_name": f.rule,
            "fingerprint": fingerprint(f),
            "severity": SEVERITY[f.severity],
            "location": {"path": f.file, "lines": {"begin": max(f.line, 1)}},
        }
        for f in findings
    ]


def render(findings: list[Finding]) -> str:
    return json.dumps(issues(findings), ensure_ascii=False, indent=2) + "\n"

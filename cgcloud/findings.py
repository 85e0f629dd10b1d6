"""What validation reports: a finding points at file:line:column with a stable rule ID."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(slots=True)
class Finding:
    """One problem (or note) at one place of one file."""

    rule: str
    severity: Severity
    message: str
    file: str
    line: int = 1
    column: int = 1
    hint: str = ""
    form: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.rule)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.form:
            out["form"] = self.form
        return out


def count(findings: list[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity is severity)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)

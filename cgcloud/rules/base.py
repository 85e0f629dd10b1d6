"""What a rule is, and what it is given: the model, the clock, and a way to point."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from cgcloud import clock
from cgcloud.findings import Finding, Severity
from cgcloud.model import At, Form, Repository

T = TypeVar("T")


@dataclass(slots=True)
class Context:
    """Everything a rule may look at. Rules never read files or the real clock."""

    repo: Repository
    now: datetime
    today: date = field(init=False)
    # values derived from the model that several rules share, computed once per run
    memo: dict[str, Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.today = clock.today(self.now)

    def shared(self, key: str, compute: Callable[[Context], T]) -> T:
        """``compute(self)``, computed once per Context and shared by the rules that ask."""
        if key not in self.memo:
            self.memo[key] = compute(self)
        value: T = self.memo[key]
        return value


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A stable rule ID with its severity, the article it enforces and a one-line summary.

    ``check`` is None for rules reported while loading or building the model
    (syntax, encoding, schema); those still belong in the registry so that
    ``cgcloud rules`` and docs/rules.md list every ID a user can meet.
    """

    id: str
    name: str
    severity: Severity
    article: str
    summary: str
    check: Check | None = None

    def at(
        self,
        where: At,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        form: Form | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule pointing at ``where`` (the key itself when ``key``)."""
        pos = where.doc.locate(where.path, key=key)
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            message=message,
            file=where.file,
            line=pos.line,
            column=pos.column,
            hint=hint,
            form=form.id if form is not None else None,
        )


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

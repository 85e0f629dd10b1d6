"""Bounded output: at most ``MAX_PER_RULE`` findings of one rule in one file.

Why: one broken pattern repeated 300,000 times (a flow mapping of unknown keys, a
pasted table with one bad zone) is one mistake, and a report of 300,000 lines
hides everything else and takes longer to print than to find. The first findings
in file order are kept; the rest become one summary finding of the same rule,
at the first omitted place, saying how many were left out ("… 另有 N 处"). The
exit code does not change (an error is still an error), and every output format
(text, JSON, SARIF, GitHub, JUnit) shows the same list.
"""

from __future__ import annotations

from cgcloud.findings import Finding, Severity
from cgcloud.i18n import _

MAX_PER_RULE = 20
OMITTED = "omitted"  # Finding.extra key of a summary finding: how many it stands for
_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def summary(
    first: Finding, omitted: int, limit: int = MAX_PER_RULE, severity: Severity | None = None
) -> Finding:
    """The finding that stands for ``omitted`` findings of ``first``'s rule and file."""
    return Finding(
        first.rule,
        severity or first.severity,
        _("… 另有 {n} 处 {rule}（同一文件中每条规则最多列出 {limit} 处）").format(
            n=omitted, rule=first.rule, limit=limit
        ),
        first.file,
        first.line,
        first.column,
        _("修正上面列出的几处后重新运行，其余同类问题会逐一显示"),
        extra={OMITTED: omitted},
    )


def cap(findings: list[Finding], limit: int = MAX_PER_RULE) -> list[Finding]:
    """``findings`` (sorted) with each (file, rule) group cut to ``limit`` plus one
    summary; summaries made earlier (while building the model) are merged in."""
    kept: dict[tuple[str, str], int] = {}
    cut: dict[tuple[str, str], list[Finding]] = {}  # [first omitted, …] in order
    earlier: dict[tuple[str, str], int] = {}
    out: list[Finding] = []
    for f in findings:
        key = (f.file, f.rule)
        n = f.extra.get(OMITTED) if f.extra else None
        if isinstance(n, int):
            earlier[key] = earlier.get(key, 0) + n
            cut.setdefault(key, []).append(f)
            continue
        if kept.get(key, 0) < limit:
            kept[key] = kept.get(key, 0) + 1
            out.append(f)
        else:
            cut.setdefault(key, []).append(f)
    if not cut:
        return out
    for key, omitted in cut.items():
        plain = [f for f in omitted if not (f.extra and OMITTED in f.extra)]
        total = len(plain) + earlier.get(key, 0)
        worst = min((f.severity for f in omitted), key=_RANK.__getitem__)
        out.append(summary(plain[0] if plain else omitted[0], total, limit, worst))
    out.sort(key=lambda f: f.sort_key)
    return out

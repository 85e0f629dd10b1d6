"""Markdown: the document's tables as pipe tables, charts as PNG files next to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cgcloud.i18n import _
from cgcloud.reports import charts
from cgcloud.reports.document import Section, Table, build_sections, title


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> list[str]:
    lines = [f"**{t.name}**", ""] if t.name else []
    if not t.rows:
        return [*lines, _("（无）"), ""]
    lines.append("| " + " | ".join(_cell(h) for h in t.headers) + " |")
    lines.append("|" + "---|" * len(t.headers))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return [*lines, ""]


def render(r: dict[str, Any], assets: Path | None, prefix: str = "") -> str:
    """The report; with ``assets`` the charts are written there as PNG and linked."""
    figs = charts.figures(r) if assets is not None else {}
    lines = [f"# {title(r)}", ""]
    for s in build_sections(r):
        lines += _section(s, figs, assets, prefix)
    return "\n".join(lines).rstrip() + "\n"


def _section(s: Section, figs: dict[str, Any], assets: Path | None, prefix: str) -> list[str]:
    lines = [f"## {s.title}", ""]
    for n in s.notes:
        lines += [n, ""]
    for key in s.charts:
        if assets is not None and key in figs:
            assets.mkdir(parents=True, exist_ok=True)
            name = f"{prefix}{key}.png"
            (assets / name).write_bytes(charts.render(figs.pop(key), "png"))
            lines += [f"![{key}]({assets.name}/{name})", ""]
    for t in s.tables:
        lines += table(t)
    return lines

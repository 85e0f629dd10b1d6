"""One self-contained HTML file: inline CSS, charts as inline SVG, no script, no fetch.

An intranet browser opens it offline; printing it gives the paper copy.
"""

from __future__ import annotations

import html
from typing import Any

from cgcloud.i18n import _
from cgcloud.reports import charts
from cgcloud.reports.document import Table, build_sections, title

CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;
margin:2em auto;max-width:1100px;color:#222;line-height:1.5}
h1{font-size:1.6em;border-bottom:2px solid #1f4e79}h2{color:#1f4e79;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}th{background:#e8eef5}
caption{text-align:left;font-weight:bold;padding:.3em 0}.chart svg{max-width:100%;height:auto}
@media print{h2{page-break-after:avoid}.chart{page-break-inside:avoid}}
"""


def _table(t: Table) -> str:
    esc = html.escape
    none = esc(_("（无）"))
    head = "".join(f"<th>{esc(str(h))}</th>" for h in t.headers)
    body = (
        "".join(
            "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in t.rows
        )
        or f'<tr><td colspan="{len(t.headers)}">{none}</td></tr>'
    )
    return (
        f"<table><caption>{esc(t.name)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _svg(fig: Any) -> str:
    text = charts.render(fig, "svg").decode("utf-8")
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE inside HTML


def render(r: dict[str, Any]) -> str:
    figs = charts.figures(r)
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(title(r))}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title(r))}</h1>",
    ]
    for s in build_sections(r):
        parts.append(f'<section id="{s.key}"><h2>{esc(s.title)}</h2>')
        parts += [f"<p>{esc(n)}</p>" for n in s.notes]
        for key in s.charts:
            if key in figs:
                parts.append(f'<div class="chart" id="chart-{key}">{_svg(figs.pop(key))}</div>')
        parts += [_table(t) for t in s.tables]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

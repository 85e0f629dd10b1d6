"""XLSX for the office (openpyxl): one sheet per section, numbers as cells, and native
Excel line charts of the utilisation (cheap with openpyxl, and editable in Excel/WPS)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font, PatternFill

from cgcloud.clock import TZ
from cgcloud.i18n import _
from cgcloud.reports.document import RESOURCE_NAMES, build_sections, named_lines, title

BOLD = Font(bold=True)
HEAD = PatternFill("solid", fgColor="E8EEF5")


_NUM = re.compile(r"^-?\d+(\.\d+)?$")
_PCT = re.compile(r"^-?\d+(\.\d+)?%$")
_HOURS = re.compile(r"^-?\d+(\.\d+)? h$")


def _cell(v: Any) -> tuple[Any, str | None]:
    """A document cell as an Excel value: numbers, percentages and hours become numbers."""
    if not isinstance(v, str):
        return v, None
    if _NUM.match(v):
        f = float(v)
        return (int(f) if f.is_integer() and "." not in v else f), None
    if _PCT.match(v):
        return float(v[:-1]) / 100, "0.0%"
    if _HOURS.match(v):
        return float(v[:-2]), '0.00" h"'
    return v, None


def _sheet_name(text: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", text.split("、", 1)[-1])[:31]
    while name in used:
        name = name[:29] + f"{len(used)}"
    used.add(name)
    return name


def write(r: dict[str, Any], path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for s in build_sections(r):
        ws = wb.create_sheet(_sheet_name(s.title, used))
        ws.append([title(r) if s.key == "summary" else s.title])
        ws["A1"].font = Font(bold=True, size=13)
        for n in s.notes:
            ws.append([n])
        for t in s.tables:
            ws.append([])
            ws.append([t.name])
            ws.cell(ws.max_row, 1).font = BOLD
            ws.append(t.headers)
            for c in ws[ws.max_row]:
                c.font, c.fill = BOLD, HEAD
            for row in t.rows:
                cells = [_cell(v) for v in row]
                ws.append([v for v, _f in cells])
                for c, (_v, f) in zip(ws[ws.max_row], cells, strict=False):
                    if f:
                        c.number_format = f
            if not t.rows:
                ws.append([_("（无）")])
        ws.column_dimensions["A"].width = 28
        for col in "BCDEFGHI":
            ws.column_dimensions[col].width = 16
    _chart_sheet(wb, r)
    wb.save(path)


def _chart_sheet(wb: Workbook, r: dict[str, Any]) -> None:
    """Utilisation per chart step (empty cells in gaps) with one native line chart each."""
    ws = wb.create_sheet(_("利用率数据"))
    row = 1
    for res, data in r["charts"].items():
        lines = named_lines(data)
        names = [n for n, _v, _t in lines]
        ws.cell(row, 1, _("利用率：{r}").format(r=_(RESOURCE_NAMES[res]))).font = BOLD
        ws.cell(row + 1, 1, _("时间")).font = BOLD
        for j, n in enumerate(names, 2):
            ws.cell(row + 1, j, n).font = BOLD
        for i, t in enumerate(data["times"]):
            ws.cell(row + 2 + i, 1, datetime.fromtimestamp(t, TZ).strftime("%Y-%m-%d %H:%M"))
            for j, (_n, vals, _t) in enumerate(lines, 2):
                v = vals[i]
                if v is not None:
                    ws.cell(row + 2 + i, j, v)
        last = row + 1 + len(data["times"])
        if names and data["times"]:
            ch = LineChart()
            ch.title = _("利用率：{r}").format(r=_(RESOURCE_NAMES[res]))
            ch.y_axis.number_format = "0%"
            ch.height, ch.width = 7, 18
            ch.add_data(
                Reference(ws, min_col=2, max_col=1 + len(names), min_row=row + 1, max_row=last),
                titles_from_data=True,
            )
            ch.set_categories(Reference(ws, min_col=1, min_row=row + 2, max_row=last))
            ch.display_blanks = "gap"
            ws.add_chart(ch, ws.cell(row, len(names) + 3).coordinate)
        row = last + 3

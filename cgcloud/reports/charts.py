"""Charts with matplotlib (Agg): SVG for the self-contained HTML, PNG for Markdown.

Why matplotlib: maintained, renders offline to SVG/PNG with no browser or JavaScript,
so the HTML stays one file an intranet browser opens without any fetch. SVG text is
kept as text (``svg.fonttype: none``) so the reader's browser draws the Chinese with
its own fonts; PNGs need a CJK font on the machine (WenQuanYi/Noto CJK, if present).
Gaps in the data are NaN (the line breaks) and shaded grey; nothing is interpolated.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from cgcloud.clock import TZ  # noqa: E402
from cgcloud.i18n import _  # noqa: E402
from cgcloud.reports.document import RESOURCE_NAMES, named_lines  # noqa: E402

LEVEL_COLOURS = {"一级": "#c0392b", "二级": "#e67e22", "三级": "#f1c40f"}
plt.rcParams.update(
    {
        "font.sans-serif": [
            "WenQuanYi Micro Hei",
            "Noto Sans CJK SC",
            "Source Han Sans SC",
            "DejaVu Sans",
        ],
        "axes.unicode_minus": False,
        "svg.fonttype": "none",
        "svg.hashsalt": "cgcloud",
    }
)


def _dt(t: float | str) -> datetime:
    return datetime.fromisoformat(t) if isinstance(t, str) else datetime.fromtimestamp(t, TZ)


def _shade_gaps(ax: Any, r: dict[str, Any]) -> None:
    for i, g in enumerate(r["coverage"]["gaps"]):
        ax.axvspan(
            _dt(g["start"]),
            _dt(g["end"]),
            color="#bbbbbb",
            alpha=0.5,
            label=_("数据缺口") if i == 0 else None,
        )


def _frame(ax: Any, r: dict[str, Any]) -> None:
    ax.set_xlim(_dt(r["period"]["start"]), _dt(r["period"]["end"]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d", tz=TZ))
    ax.grid(True, alpha=0.3)


def _lines(r: dict[str, Any], data: dict[str, Any], ttl: str, ylabel: str, percent: bool) -> Any:
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    xs = mdates.date2num([_dt(t) for t in data["times"]])
    for name, vals, thick in named_lines(data):
        ys = [float("nan") if v is None else (v * 100 if percent else v) for v in vals]
        ax.plot(xs, ys, label=name, linewidth=2.6 if thick else 1.6)
    _shade_gaps(ax, r)
    _frame(ax, r)
    ax.set_title(ttl)
    ax.set_ylabel(ylabel)
    if named_lines(data) or r["coverage"]["gaps"]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def _timeline(r: dict[str, Any]) -> Any:
    incs = [i for i in r["incidents"] if i["limit_seconds"] is not None]
    names = sorted({f"{i['alert']} {i['subject']}" for i in incs})
    fig, ax = plt.subplots(figsize=(9, max(1.8, 0.45 * len(names) + 1.2)), dpi=100)
    for i in incs:
        y = names.index(f"{i['alert']} {i['subject']}")
        a, b = mdates.date2num(_dt(i["start"])), mdates.date2num(_dt(i["end"]))
        span = mdates.date2num(_dt(r["period"]["end"])) - mdates.date2num(_dt(r["period"]["start"]))
        width = max(b - a, span / 100)  # short incidents stay visible on a month's axis
        ax.barh(
            y,
            width,
            left=a,
            height=0.6,
            color=LEVEL_COLOURS.get(i["level"], "#7f8c8d"),
            edgecolor="black" if i["within_limit"] is False else "none",
            linewidth=0.8,
        )
        ax.annotate(
            f"{i['seconds'] / 3600:.2f} h",
            (a + width, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(names)), names, fontsize=7)
    _shade_gaps(ax, r)
    _frame(ax, r)
    ax.set_title(_("故障时间线（颜色：一级 红，二级 橙，三级 黄；黑框 = 超时）"))
    fig.tight_layout()
    return fig


def figures(r: dict[str, Any]) -> dict[str, Any]:
    """key → matplotlib figure, for the keys ``document`` sections name."""
    out = {}
    for res, data in r["charts"].items():
        out[res] = _lines(r, data, _("利用率：{r}").format(r=_(RESOURCE_NAMES[res])), "%", True)
    out["validation"] = _lines(
        r, r["compliance"]["validation_chart"], _("表单校验发现数"), _("个"), False
    )
    out["incidents"] = _timeline(r)
    return out


def render(fig: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buf.getvalue()

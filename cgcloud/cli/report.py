"""`cgcloud report`: 旬报/月报/半年报 from Prometheus and cgcloud's records (registered by cli.py)."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import _


class ReportFormat(StrEnum):
    html = "html"
    markdown = "markdown"
    xlsx = "xlsx"
    json = "json"


def _state_path(env: str, name: str) -> Path:
    """Where apply/enforce write by default (same rule as theirs, docs/reconcile.md)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cgcloud" / name


def _usage(message: str) -> typer.Exit:
    typer.echo(_("错误: ") + message, err=True)
    return typer.Exit(ExitCode.USAGE)


def report_cmd(
    period: Annotated[
        str,
        typer.Option(
            "--period", help="2027-01-上旬|中旬|下旬 (旬报), 2027-01 (月报), 2027-H1|H2 (半年报)."
        ),
    ],
    prometheus: Annotated[
        str,
        typer.Option(
            "--prometheus",
            envvar="CGCLOUD_PROMETHEUS_URL",
            help="Prometheus base URL that scrapes `cgcloud exporter` (default $CGCLOUD_PROMETHEUS_URL).",
        ),
    ],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Optional policy repository: list the systems the forms grant that have no "
            "usage data in the period.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="Output format.")
    ] = ReportFormat.html,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output file (default stdout; required for xlsx). Markdown charts go to "
            "<out stem>-charts/ as PNG.",
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            help="apply/enforce audit log (default $CGCLOUD_AUDIT_LOG or "
            "~/.local/state/cgcloud/audit.jsonl).",
        ),
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help="Reclaim records directory (default $CGCLOUD_RECORDS_DIR or "
            "~/.local/state/cgcloud/records).",
        ),
    ] = None,
    gap: Annotated[
        float,
        typer.Option(
            "--gap",
            min=1.0,
            help="Seconds without an exporter sample that count as a gap in "
            "the data; also splits one alert into separate incidents.",
        ),
    ] = 600.0,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Systems in the charts and rankings.")
    ] = 10,
    under: Annotated[
        float,
        typer.Option(
            "--under",
            min=0.0,
            help="Max utilisation below which a system is an adjustment candidate (第十四条).",
        ),
    ] = 0.3,
    near: Annotated[
        float,
        typer.Option(
            "--near", min=0.0, help="Max utilisation at or above which a system is near its quota."
        ),
    ] = 0.9,
    headroom: Annotated[
        float,
        typer.Option("--headroom", min=0.0, help="Proposed quota = max use × (1 + headroom)."),
    ] = 0.2,
    off_days: Annotated[
        float,
        typer.Option(
            "--off-days",
            min=0.0,
            help="Days a server must have been off (at some sample) to be listed as powered "
            "off for long; decommissioned ones are not.",
        ),
    ] = 7.0,
    cold_days: Annotated[
        float,
        typer.Option(
            "--cold-days",
            min=0.0,
            help="Days a high-speed volume must have been unusable by the evidence at the "
            "period's end (and never in use in it) to look cold (第十八条).",
        ),
    ] = 30.0,
    high_speed_tiers: Annotated[
        str,
        typer.Option(
            "--high-speed-tiers",
            help="Comma-separated volume types that are high-speed storage (the forms' "
            "tier names).",
        ),
    ] = "high-speed",
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds to wait for each Prometheus query.")
    ] = 120.0,
) -> None:
    """Write the cloud provider's periodic report (第二十条): approved vs used per system,
    changes, rules, decommissions, lapsed approvals, findings, drift, incidents with
    their 第二十三条 level, and the usage analysis of 第十四条. Exit codes: 0 written,
    1 Prometheus unreachable or refused a query, 64 usage error."""
    from cgcloud import clock
    from cgcloud.reports import analysis
    from cgcloud.reports.build import build
    from cgcloud.reports.collect import Options
    from cgcloud.reports.period import PeriodError, parse_period
    from cgcloud.reports.prom import PromError, Prometheus

    try:
        per = parse_period(period)
    except PeriodError as exc:
        raise _usage(str(exc)) from None
    if fmt is ReportFormat.xlsx and out is None:
        raise _usage(_("xlsx 格式必须用 --out 指定输出文件"))
    if not _http_url(prometheus):
        raise _usage(_("--prometheus 应为 http(s):// 开头的地址，收到 {u!r}").format(u=prometheus))
    for p in paths or []:
        if not p.exists():
            raise _usage(_("路径不存在: {path}").format(path=p))
    if out is not None and not out.parent.is_dir():
        raise _usage(_("输出目录 {d} 不存在").format(d=out.parent))
    fast = tuple(t.strip() for t in high_speed_tiers.split(",") if t.strip())
    if not fast:
        raise _usage(_("--high-speed-tiers 至少要写一个存储类型"))
    opts = Options(
        audit_log=audit_log or _state_path("CGCLOUD_AUDIT_LOG", "audit.jsonl"),
        records_dir=records or _state_path("CGCLOUD_RECORDS_DIR", "records"),
        gap_seconds=gap,
        top=top,
        thresholds=analysis.Thresholds(
            under=under,
            near=near,
            headroom=headroom,
            off_days=off_days,
            cold_days=cold_days,
            high_speed=fast,
        ),
    )
    try:
        data = build(
            Prometheus(prometheus, timeout=timeout), per, opts, clock.now_local(), paths or None
        )
    except PromError as exc:
        typer.echo(_("错误: ") + str(exc), err=True)
        raise typer.Exit(ExitCode.FAILURE) from None
    except KeyboardInterrupt:
        typer.echo(_("已中断"), err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    _emit(data, fmt, out)


def _http_url(url: str) -> bool:
    """An http(s) URL with a host and, if given, a port in 1-65535."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0


def _emit(data: dict, fmt: ReportFormat, out: Path | None) -> None:
    if fmt is ReportFormat.xlsx:
        from cgcloud.reports import xlsx

        assert out is not None
        xlsx.write(data, out)
        return
    if fmt is ReportFormat.json:
        text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    elif fmt is ReportFormat.html:
        from cgcloud.reports import html

        text = html.render(data)
    else:
        from cgcloud.reports import markdown

        assets = out.parent / f"{out.stem}-charts" if out is not None else None
        if assets is None:
            typer.echo(
                _("提示: 输出到标准输出时 Markdown 不含图表；用 --out 文件可同时生成 PNG 图表"),
                err=True,
            )
        text = markdown.render(data, assets)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        out.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)

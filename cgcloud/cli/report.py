"""`cgcloud report`: 旬报/月报/半年报 from Prometheus and cgcloud's records (registered by cli.py)."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cgcloud.cli.options import fail, usage
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _


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


def report_cmd(
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help=N_("2027-01-上旬|中旬|下旬（旬报）、2027-01（月报）、2027-H1|H2（半年报）。"),
        ),
    ],
    prometheus: Annotated[
        str,
        typer.Option(
            "--prometheus",
            envvar="CGCLOUD_PROMETHEUS_URL",
            help=N_(
                "抓取 `cgcloud exporter` 的 Prometheus 的基础 URL（默认 $CGCLOUD_PROMETHEUS_URL）。"
            ),
        ),
    ],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help=N_("可选的策略仓库：列出表单批复了、但本期没有用量数据的系统。"),
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help=N_("输出格式。"))
    ] = ReportFormat.html,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=N_(
                "输出文件（默认标准输出；xlsx 必须指定）。Markdown 的图表以 PNG 写入 "
                "<输出文件名>-charts/。"
            ),
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            help=N_(
                "apply/enforce 的审计日志（默认 $CGCLOUD_AUDIT_LOG 或 "
                "~/.local/state/cgcloud/audit.jsonl）。"
            ),
        ),
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help=N_(
                "回收记录目录（默认 $CGCLOUD_RECORDS_DIR 或 ~/.local/state/cgcloud/records）。"
            ),
        ),
    ] = None,
    gap: Annotated[
        float,
        typer.Option(
            "--gap",
            min=1.0,
            help=N_("exporter 无样本达到多少秒即算数据缺口；也用来把一个告警拆分为不同的事件。"),
        ),
    ] = 600.0,
    top: Annotated[int, typer.Option("--top", min=1, help=N_("图表和排名中的系统个数。"))] = 10,
    under: Annotated[
        float,
        typer.Option(
            "--under",
            min=0.0,
            help=N_("最高利用率低于此值的系统列为调整候选（第十四条）。"),
        ),
    ] = 0.3,
    near: Annotated[
        float,
        typer.Option("--near", min=0.0, help=N_("最高利用率达到或超过此值的系统视为接近配额。")),
    ] = 0.9,
    headroom: Annotated[
        float,
        typer.Option("--headroom", min=0.0, help=N_("建议配额 = 最高用量 ×（1 + headroom）。")),
    ] = 0.2,
    off_days: Annotated[
        float,
        typer.Option(
            "--off-days",
            min=0.0,
            help=N_("某个样本显示已连续关机达到此天数的云主机列为长期关机（关停中的不列入）。"),
        ),
    ] = 7.0,
    cold_days: Annotated[
        float,
        typer.Option(
            "--cold-days",
            min=0.0,
            help=N_(
                "高速存储上的云硬盘到期末已有此天数不可能被读写（且期内从未在用）即视为冷数据"
                "（第十八条）。"
            ),
        ),
    ] = 30.0,
    high_speed_tiers: Annotated[
        str,
        typer.Option(
            "--high-speed-tiers",
            help=N_("属于高速存储的云硬盘类型，逗号分隔（表单中的存储层级名）。"),
        ),
    ] = "high-speed",
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help=N_("每个 Prometheus 查询的等待秒数。"))
    ] = 120.0,
) -> None:
    """Check the options, collect the period, write it (REPORT_HELP)."""
    from cgcloud import clock
    from cgcloud.reports import analysis
    from cgcloud.reports.build import build
    from cgcloud.reports.collect import Options
    from cgcloud.reports.period import PeriodError, parse_period
    from cgcloud.reports.prom import PromError, Prometheus

    try:
        per = parse_period(period)
    except PeriodError as exc:
        raise usage(str(exc)) from None
    if fmt is ReportFormat.xlsx and out is None:
        raise usage(_("xlsx 格式必须用 --out 指定输出文件"))
    if not _http_url(prometheus):
        raise usage(_("--prometheus 应为 http(s):// 开头的地址，收到 {u!r}").format(u=prometheus))
    for p in paths or []:
        if not p.exists():
            raise usage(_("路径不存在: {path}").format(path=p))
    if out is not None and not out.parent.is_dir():
        raise usage(_("输出目录 {d} 不存在").format(d=out.parent))
    fast = tuple(t.strip() for t in high_speed_tiers.split(",") if t.strip())
    if not fast:
        raise usage(_("--high-speed-tiers 至少要写一个存储类型"))
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
        raise fail(exc) from None
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


REPORT_HELP = N_(
    "生成云服务商的定期报告（第二十条）：各系统批复与实际用量、变更、规则、下线、"
    "失效的审批、校验发现、漂移、按第二十三条定级的事件，第十四条的用量分析，"
    "以及第十八条的分层存储、长期关机的云主机和疑似冷数据的高速存储卷。"
    "退出码：0 已写出，1 Prometheus 无法访问或拒绝查询，64 用法错误。"
)


def register(app: typer.Typer) -> None:
    app.command("report", help=REPORT_HELP)(report_cmd)

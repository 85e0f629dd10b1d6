"""`cgcloud exporter`: serve compliance and usage metrics for Prometheus."""

from __future__ import annotations

import errno
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.cli.options import fail, usage
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _


def exporter_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help=N_("策略文件或目录（默认: policies/）。"), show_default=False),
    ] = None,
    cloud: Annotated[
        str,
        typer.Option(
            "--cloud", envvar="OS_CLOUD", help=N_("clouds.yaml 中的云名称（默认 $OS_CLOUD）。")
        ),
    ] = "",
    engine: Annotated[
        str, typer.Option("--engine", help=N_("读取云的引擎（openstack、memory）。"))
    ] = "openstack",
    listen: Annotated[
        str, typer.Option("--listen", help=N_("提供 /metrics 的 HOST:PORT。"))
    ] = "127.0.0.1:9477",
    refresh: Annotated[
        float,
        typer.Option("--refresh", min=1.0, help=N_("两次刷新缓存快照之间的秒数。")),
    ] = 60.0,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help=N_("把 exporter 的时钟固定在此时刻（ISO 8601；用于测试和回放）。"),
        ),
    ] = None,
    now_file: Annotated[
        Path | None,
        typer.Option(
            "--now-file",
            help=N_(
                "每次刷新时从此文件读取 exporter 的“当前时刻”（ISO 8601；文件为空或不存在 = "
                "真实时钟）。用于测试：让运行中的 exporter 逐日前进。"
            ),
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.1,
            max=86400.0,
            show_default=False,
            help=N_(
                "每个 OpenStack API 应答的等待秒数（默认取 clouds.yaml 的 api_timeout，否则 60）。"
            ),
        ),
    ] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option(
            "--include-textfile",
            help=N_(
                "同时提供 `apply/enforce --textfile` 写下的运行结果"
                "（没有 node-exporter 收集它们时）。可重复。"
            ),
        ),
    ] = None,
) -> None:
    """Check the options, then serve the cached snapshot until stopped (EXPORTER_HELP)."""
    from cgcloud import clock
    from cgcloud import exporter as ex
    from cgcloud.cli.runtime import require_paths

    if not cloud:
        raise usage(_("请用 --cloud NAME 或环境变量 OS_CLOUD 指定云"))
    if now is not None and now_file is not None:
        raise usage(_("--now 与 --now-file 只能用一个"))
    require_paths(paths or [Path("policies")])
    try:
        host, port = ex.parse_listen(listen)
        clk = ex.make_clock(now, now_file)
        clk()
    except (ValueError, OverflowError, clock.ClockError) as exc:
        raise usage(exc) from None
    from cgcloud import engines
    from cgcloud.cli.reconcile import unknown_engine

    if engine not in engines.REGISTRY:
        raise usage(unknown_engine(engine))
    exporter = ex.Exporter(
        paths or [Path("policies")],
        cloud,
        refresh=refresh,
        now=clk,
        include=include or [],
        timeout=timeout,
        engine=engine,
    )
    try:
        server = ex.make_server(exporter, host, port)
    except (OSError, ValueError) as exc:
        # no such local address / unknown host name: the option is wrong (64); a port in
        # use or not permitted is the machine's state (1)
        bad_option = isinstance(exc, ValueError | socket.gaierror) or (
            isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL
        )
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise fail(
            _("无法监听 {listen}: {reason}").format(listen=listen, reason=reason),
            ExitCode.USAGE if bad_option else ExitCode.FAILURE,
        ) from None

    def stop(signum: int, frame: Any) -> None:
        exporter.stop()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        _(
            "cgcloud exporter: 在 http://{host}:{port}/metrics 提供云 {cloud} 的指标（每 {refresh} 秒刷新）"
        ).format(host=host, port=port, cloud=cloud, refresh=f"{refresh:g}"),
        file=sys.stderr,
        flush=True,
    )
    exporter.start()
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        exporter.stop()
        server.server_close()


EXPORTER_HELP = N_(
    "提供 /metrics：批复与实际用量、规则窗口、逾期规则、SSH/RDP 暴露、漂移、占位主机、"
    "下线、失效的审批、校验发现。\n\n"
    "后台线程每 --refresh 秒刷新一次缓存快照（重新读取并校验策略，以固定次数的列表调用读取云，"
    "比对）；抓取只返回缓存的内容，从不调用 OpenStack。指标名与标签：docs/metrics.md。"
)


def register(app: typer.Typer) -> None:
    """Add `exporter` to the main app."""
    app.command("exporter", help=EXPORTER_HELP)(exporter_cmd)

"""`cgcloud exporter`: serve compliance and usage metrics for Prometheus."""

from __future__ import annotations

import errno
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import _


def exporter_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files or directories (default: policies/).", show_default=False
        ),
    ] = None,
    cloud: Annotated[
        str,
        typer.Option(
            "--cloud", envvar="OS_CLOUD", help="Cloud name in clouds.yaml (default $OS_CLOUD)."
        ),
    ] = "",
    engine: Annotated[
        str, typer.Option("--engine", help="Which engine reads the cloud (openstack, memory).")
    ] = "openstack",
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to serve /metrics on.")
    ] = "127.0.0.1:9477",
    refresh: Annotated[
        float,
        typer.Option(
            "--refresh", min=1.0, help="Seconds between refreshes of the cached snapshot."
        ),
    ] = 60.0,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Freeze the exporter's clock at this time (ISO 8601; testing and replay aid).",
        ),
    ] = None,
    now_file: Annotated[
        Path | None,
        typer.Option(
            "--now-file",
            help="Read the exporter's 'now' from this file at every refresh "
            "(ISO 8601; empty or missing = wall clock). A testing aid to step a running "
            "exporter through days.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.1,
            max=86400.0,
            show_default=False,
            help="Seconds to wait for each OpenStack API answer (default: clouds.yaml's "
            "api_timeout, else 60).",
        ),
    ] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option(
            "--include-textfile",
            help="Also serve run results written by `apply/enforce "
            "--textfile` (when no node-exporter collects them). Repeatable.",
        ),
    ] = None,
) -> None:
    """Serve /metrics: approved vs used quota, rule windows, overdue rules, SSH/RDP
    exposures, drift, placeholders, decommissions, lapsed approvals, findings.

    A background thread refreshes a cached snapshot every --refresh seconds
    (reload and validate the policies, read the cloud with a fixed number of
    list calls, diff); a scrape only serves the cached bytes and never calls
    OpenStack. Names and labels: docs/metrics.md.
    """
    from cgcloud import clock
    from cgcloud import exporter as ex
    from cgcloud.cli.runtime import require_paths

    if not cloud:
        typer.echo(_("错误: 请用 --cloud NAME 或环境变量 OS_CLOUD 指定云"), err=True)
        raise typer.Exit(ExitCode.USAGE)
    if now is not None and now_file is not None:
        typer.echo(_("错误: --now 与 --now-file 只能用一个"), err=True)
        raise typer.Exit(ExitCode.USAGE)
    require_paths(paths or [Path("policies")])
    try:
        host, port = ex.parse_listen(listen)
        clk = ex.make_clock(now, now_file)
        clk()
    except (ValueError, OverflowError, clock.ClockError) as exc:
        typer.echo(_("错误: {err}").format(err=exc), err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    from cgcloud import engines

    if engine not in engines.REGISTRY:
        typer.echo(f"错误: 未知的引擎 {engine}（可选: {', '.join(engines.names())}）", err=True)
        raise typer.Exit(ExitCode.USAGE)
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
        usage = isinstance(exc, ValueError | socket.gaierror) or (
            isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL
        )
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        typer.echo(
            _("错误: 无法监听 {listen}: {reason}").format(listen=listen, reason=reason), err=True
        )
        raise typer.Exit(ExitCode.USAGE if usage else ExitCode.FAILURE) from None

    def stop(signum: int, frame: Any) -> None:
        exporter.stop()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(
        f"cgcloud exporter: serving http://{host}:{port}/metrics for cloud {cloud} "
        f"(refresh every {refresh:g} s)",
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


def register(app: typer.Typer) -> None:
    """Add `exporter` to the main app."""
    app.command("exporter")(exporter_cmd)

"""Typer sub-app `cgcloud devcloud`: up, status, down, logs.

Mounted by the main CLI with `app.add_typer(devcloud_app, name="devcloud")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cgcloud.cli.helpformat import columns
from cgcloud.cli.runtime import HELP_OPTIONS, CgcloudGroup
from cgcloud.devcloud.config import DIR_ENV
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _

app = typer.Typer(
    name="devcloud",
    help=N_(
        "127.0.0.1 上的真实 OpenStack 控制面（Keystone、Neutron；full 另加 Placement、"
        "Glance、Nova、Cinder），用于试用 cgcloud 和运行其集成测试。"
    ),
    no_args_is_help=True,
    add_completion=False,
    cls=CgcloudGroup,  # the one exit-code table also for `python -m cgcloud.devcloud`
    context_settings=HELP_OPTIONS,
)

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        envvar=DIR_ENV,
        help=N_(
            "devcloud 全部状态（venv、配置、数据、日志）所在的目录（默认: ~/.cache/cgcloud/devcloud）。"
        ),
    ),
]


def _fail(exc: Exception, code: ExitCode = ExitCode.FAILURE) -> None:
    typer.echo(str(exc), err=True)
    raise typer.Exit(code)


UP_HELP = N_(
    "安装缺少的部分并启动 devcloud；可重复运行。\n\n"
    "写出 <dir>/clouds.yaml，其中有名为 `devcloud` 的管理员云。"
)


@app.command(help=UP_HELP)
def up(
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            help=N_(
                "minimal：Keystone + Neutron（约 20 秒）。full：另加 RabbitMQ、PostgreSQL、"
                "Placement、Glance、Nova（fake 驱动）、Cinder（fake 驱动）（约 1 分钟）。"
            ),
        ),
    ] = "minimal",
    dir: DirOpt = None,
    zones: Annotated[
        Path | None,
        typer.Option(
            "--zones",
            help=N_("按其布设网络、路由器和堡垒机的区域策略 [默认: policies/zones.yaml]。"),
        ),
    ] = None,
    no_site: Annotated[bool, typer.Option("--no-site", help=N_("跳过站点布设。"))] = False,
) -> None:
    """Install, start and lay out (UP_HELP)."""
    from cgcloud.devcloud.launcher import up as do_up
    from cgcloud.devcloud.procs import DevcloudError

    if profile not in ("minimal", "full"):
        _fail(
            ValueError(_("--profile 应为 minimal 或 full，而不是 {p!r}").format(p=profile)),
            ExitCode.USAGE,
        )
    try:
        do_up(profile, dir, zones=zones, site=not no_site)  # type: ignore[arg-type]
    except DevcloudError as exc:
        _fail(exc)


@app.command(
    help=N_("显示每个服务：运行与否、端口、pid 和内存（RSS、PSS）；有服务未运行时退出码为 1。")
)
def status(dir: DirOpt = None) -> None:
    """One line per service, then the total (memory shared out by PSS)."""
    from cgcloud.devcloud.launcher import status as do_status

    rows = do_status(dir)
    up, down, state = _("运行"), _("停止"), _("状态")
    state_w = max(5, columns(up), columns(down), columns(state))
    head = [pad(_("服务"), 18), pad(state, state_w), pad(_("端口"), 6, right=True)]
    typer.echo(" ".join([*head, f"{'PID':>8} {'RSS':>8} {'PSS':>8}"]))
    for r in rows:
        typer.echo(
            f"{r.name:18} {pad(up if r.up else down, state_w)} {r.port or '-':>6} "
            f"{r.pid or '-':>8} {r.rss_bytes / 2**20:6.0f}MB {r.pss_bytes / 2**20:6.0f}MB"
        )
    rss, pss = sum(r.rss_bytes for r in rows), sum(r.pss_bytes for r in rows)
    up_count = _("{up}/{n} 运行").format(up=sum(r.up for r in rows), n=len(rows))
    total = pad(_("合计"), 18) + " " + pad(up_count, state_w + 16)
    typer.echo(f"{total} {rss / 2**20:6.0f}MB {pss / 2**20:6.0f}MB")
    typer.echo(_("（RSS 在每个进程中都计入共享页；PSS 按进程分摊共享页：这才是真实的总量）"))
    if not all(r.up for r in rows):
        raise typer.Exit(ExitCode.FAILURE)  # 3 is the delete guard in the one table


@app.command(help=N_("停止每个 devcloud 进程（只停 `up` 启动的那些）。"))
def down(
    purge: Annotated[
        bool, typer.Option("--purge", help=N_("同时删除数据、日志和配置（保留 venv）。"))
    ] = False,
    dir: DirOpt = None,
) -> None:
    """Stop what up started (the launcher knows which)."""
    from cgcloud.devcloud.launcher import down as do_down

    do_down(purge, dir)


@app.command(help=N_("显示某个服务日志的最后几行。"))
def logs(
    service: Annotated[
        str,
        typer.Argument(
            help=N_(
                "keystone、neutron、placement、glance、nova-api、nova-conductor、nova-scheduler、"
                "nova-compute、cinder-api、cinder-scheduler、cinder-volume、rabbitmq、postgres、"
                "setup 或 install。"
            )
        ),
    ],
    lines: Annotated[int, typer.Option("-n", "--lines", help=N_("显示多少行。"))] = 50,
    dir: DirOpt = None,
) -> None:
    """The tail of one service's log (the launcher knows where)."""
    from cgcloud.devcloud.launcher import logs as do_logs
    from cgcloud.devcloud.procs import DevcloudError

    try:
        typer.echo(do_logs(service, lines, dir))
    except DevcloudError as exc:
        _fail(exc)


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` filled to ``width`` terminal columns: a Chinese character takes two, so
    str.ljust would leave the columns of a Chinese heading out of line."""
    fill = " " * max(0, width - columns(text))
    return fill + text if right else text + fill

"""Typer sub-app `cgcloud devcloud`: up, status, down, logs.

Mounted by the main CLI with `app.add_typer(devcloud_app, name="devcloud")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cgcloud.cli.runtime import HELP_OPTIONS, CgcloudGroup
from cgcloud.devcloud.config import DIR_ENV
from cgcloud.exitcodes import ExitCode

app = typer.Typer(
    name="devcloud",
    help="A real OpenStack control plane on 127.0.0.1 (Keystone, Neutron; full: + Placement, "
    "Glance, Nova, Cinder) for trying cgcloud and for its integration tests.",
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
        help="Where all devcloud state lives (venv, configs, "
        "data, logs) (default: ~/.cache/cgcloud/devcloud).",
    ),
]


def _fail(exc: Exception, code: ExitCode = ExitCode.FAILURE) -> None:
    typer.echo(str(exc), err=True)
    raise typer.Exit(code)


@app.command()
def up(
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            help="minimal: Keystone + Neutron (~20 s). full: + RabbitMQ, "
            "PostgreSQL, Placement, Glance, Nova (fake driver), Cinder (fake driver) (~1 min).",
        ),
    ] = "minimal",
    dir: DirOpt = None,
    zones: Annotated[
        Path | None,
        typer.Option(
            "--zones",
            help="Zones policy to lay out as networks/routers/bastions "
            "[default: policies/zones.yaml].",
        ),
    ] = None,
    no_site: Annotated[bool, typer.Option("--no-site", help="Skip the site layout.")] = False,
) -> None:
    """Install what is missing and start the devcloud; safe to run twice.

    Writes <dir>/clouds.yaml with an admin cloud named `devcloud`.
    """
    from cgcloud.devcloud.launcher import up as do_up
    from cgcloud.devcloud.procs import DevcloudError

    if profile not in ("minimal", "full"):
        _fail(ValueError(f"--profile must be minimal or full, not {profile!r}"), ExitCode.USAGE)
    try:
        do_up(profile, dir, zones=zones, site=not no_site)  # type: ignore[arg-type]
    except DevcloudError as exc:
        _fail(exc)


@app.command()
def status(dir: DirOpt = None) -> None:
    """Show each service: up/down, port, pid and memory (RSS, PSS); exit 1 if any is down."""
    from cgcloud.devcloud.launcher import status as do_status

    rows = do_status(dir)
    typer.echo(f"{'SERVICE':18} {'STATE':5} {'PORT':>6} {'PID':>8} {'RSS':>8} {'PSS':>8}")
    for r in rows:
        typer.echo(
            f"{r.name:18} {'up' if r.up else 'down':5} {r.port or '-':>6} "
            f"{r.pid or '-':>8} {r.rss_bytes / 2**20:6.0f}MB {r.pss_bytes / 2**20:6.0f}MB"
        )
    rss, pss = sum(r.rss_bytes for r in rows), sum(r.pss_bytes for r in rows)
    up_count = f"{sum(r.up for r in rows)}/{len(rows)} up"
    typer.echo(f"{'total':18} {up_count:21} {rss / 2**20:6.0f}MB {pss / 2**20:6.0f}MB")
    typer.echo("(RSS counts shared pages in every process; PSS shares them out: the real total)")
    if not all(r.up for r in rows):
        raise typer.Exit(ExitCode.FAILURE)  # 3 is the delete guard in the one table


@app.command()
def down(
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete data, logs and configs (the venv is kept).")
    ] = False,
    dir: DirOpt = None,
) -> None:
    """Stop every devcloud process (only the ones `up` started)."""
    from cgcloud.devcloud.launcher import down as do_down

    do_down(purge, dir)


@app.command()
def logs(
    service: Annotated[
        str,
        typer.Argument(
            help="keystone, neutron, placement, glance, nova-api, nova-conductor, nova-scheduler, "
            "nova-compute, cinder-api, cinder-scheduler, cinder-volume, rabbitmq, postgres, "
            "setup or install."
        ),
    ],
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many lines.")] = 50,
    dir: DirOpt = None,
) -> None:
    """Print the last lines of a service's logs."""
    from cgcloud.devcloud.launcher import logs as do_logs
    from cgcloud.devcloud.procs import DevcloudError

    try:
        typer.echo(do_logs(service, lines, dir))
    except DevcloudError as exc:
        _fail(exc)

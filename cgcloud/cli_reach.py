"""`cgcloud reach`: who can reach what, from the approved forms and from the live cloud.

A thin command: parse the options, load the (cached) reach index, ask it, optionally
read the cloud and compare, render. The engine is imported only with ``--cloud``.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.i18n import _

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, os.EX_USAGE


class ReachFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _usage(message: str) -> typer.Exit:
    typer.echo(_("错误: {message}").format(message=message), err=True)
    return typer.Exit(EXIT_USAGE)


def reach_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Policy files or directories (default: policies/).", show_default=False
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="HOST[:PORT[/PROTO]]: an address or a placeholder host, e.g. "
            "172.20.4.11:443, 172.20.4.11:53/udp, 智慧城管-数据库:3306, 172.20.4.11:icmp.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="A source address, placeholder or zone (id or Chinese name). "
            "Alone: everything that source may reach.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="As of this time (ISO 8601, Asia/Shanghai when no offset); default now."
        ),
    ] = None,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud",
            help="Also ask the live cloud (clouds.yaml name): which rules allow "
            "it, and the difference with the forms. Exit 1 on unauthorised exposure.",
        ),
    ] = None,
    exposed: Annotated[
        bool,
        typer.Option(
            "--exposed",
            help="Everything reachable from external zones (互联网公网, "
            "政务外网骨干网, 专线网络), per system, with public IPs and SSH/RDP.",
        ),
    ] = False,
    output: Annotated[
        ReachFormat, typer.Option("--format", "-f", help="text, markdown or json.")
    ] = ReachFormat.text,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Build the index from the files, do not use or write the cache."
        ),
    ] = False,
) -> None:
    """Who can reach a host on a port, since when and on whose signature; and is the
    cloud allowing more than the paperwork?

    Exit codes: 0 answered, 1 unauthorised exposure found (with --cloud) or a cloud
    error, 64 usage error (bad --to/--from/--at, missing path).

    Examples:

        cgcloud reach policies/ --to 172.20.4.11:443 --at 2027-01-15

        cgcloud reach policies/ --from 172.21.0.10

        cgcloud reach policies/ --to 172.21.4.21 --cloud devcloud

        cgcloud reach policies/ --exposed --cloud devcloud --format markdown
    """
    from cgcloud import clock
    from cgcloud.loader import UsageError
    from cgcloud.reach import cache, compare, exposure, render
    from cgcloud.reach.index import ANY_SERVICE, QueryError, parse_endpoint, parse_target

    if to is None and source is None and not exposed and cloud is None:
        raise _usage(_("请给出 --to、--from、--exposed 或 --cloud 之一（cgcloud reach --help）"))
    try:
        when = clock.now_local(at)
    except clock.ClockError as exc:
        raise _usage(str(exc)) from None
    try:
        index = cache.load(list(paths or [Path("policies")]), use_cache=not no_cache)
    except UsageError as exc:
        raise _usage(str(exc)) from None
    try:
        target, service = parse_target(to) if to is not None else (None, None)
        src = parse_endpoint(source, index.zone_refs) if source is not None else None
    except QueryError as exc:
        raise _usage(str(exc)) from None
    for end in (target, src):  # a typo must not read as "nothing reaches it"
        name = end.placeholder if end is not None else None
        if name and name not in index.targets.placeholder and name not in index.sources.placeholder:
            raise _usage(
                _("{name!r} 不是已知的区域，也不是任何行中的占位主机；区域: {zones}").format(
                    name=name, zones="、".join(sorted(index.zone_refs))
                )
            )

    view = _read_cloud(cloud) if cloud else None
    resolved = view.placeholders if view is not None else {}
    query: dict[str, Any] = {"to": to, "from": source, "cloud": cloud, "exposed": exposed}
    grants = None
    if target is not None:
        assert service is not None
        grants = index.to(target, service, src, resolved)
    elif src is not None and not exposed:
        grants = index.from_(src, resolved=resolved)
    diff = None
    if view is not None:
        diff = compare.difference(index, view, when, target, service or ANY_SERVICE, src)
    found = exposure.exposure(index, when, diff) if exposed else None
    data = render.answer(index, when, query, grants, None if exposed else diff, found)
    text = render.render(data, output.value)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    unauthorised = (
        any(not v.authorised for se in found for v in se.cloud)
        if found is not None
        else bool(diff and diff.unauthorised)
    )
    if index.facts.load_errors or index.facts.unparsed:
        typer.echo(
            _("注意: 有表单或行未能读入，结果不含它们（运行 cgcloud validate 查看）"), err=True
        )
    from cgcloud.cli import _exit  # skip freeing the index at exit, as validate does

    _exit(EXIT_FAILURE if unauthorised else EXIT_OK)


def _read_cloud(cloud: str) -> Any:
    """The cloud's groups, rules and ports as reach facts (reach/cloud.py)."""
    from cgcloud.engines.openstack import OpenStackEngine
    from cgcloud.reach.cloud import view

    try:
        engine = OpenStackEngine(cloud)
        actual = engine.read(None, network_only=True)
    except Exception as exc:  # noqa: BLE001 - openstacksdk raises many kinds
        typer.echo(
            _("错误: 云 {cloud}: {kind}: {exc}").format(
                cloud=cloud, kind=type(exc).__name__, exc=exc
            ),
            err=True,
        )
        raise typer.Exit(EXIT_FAILURE) from None
    return view(actual)


def register(app: typer.Typer) -> None:
    """Add `reach` to the main app."""
    app.command("reach")(reach_cmd)

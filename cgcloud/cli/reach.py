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

from cgcloud.cli.options import fail, usage
from cgcloud.i18n import N_, _

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, os.EX_USAGE


class ReachFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def reach_cmd(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help=N_("策略文件或目录（默认: policies/）。"), show_default=False),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help=N_(
                "HOST[:PORT[/PROTO]]：地址或占位主机，例如 "
                "172.20.4.11:443、172.20.4.11:53/udp、智慧城管-数据库:3306、172.20.4.11:icmp。"
            ),
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help=N_("源地址、占位主机或区域（ID 或中文名）。单独使用时：该源可到达的一切。"),
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help=N_("以此时刻为准（ISO 8601，无时区偏移时按 Asia/Shanghai）；默认现在。")
        ),
    ] = None,
    cloud: Annotated[
        str | None,
        typer.Option(
            "--cloud",
            help=N_(
                "同时询问运行中的云（clouds.yaml 中的名称）：哪些规则允许它，"
                "以及与表单的差异。发现未授权暴露时退出码为 1。"
            ),
        ),
    ] = None,
    exposed: Annotated[
        bool,
        typer.Option(
            "--exposed",
            help=N_(
                "从外部区域（互联网公网、政务外网骨干网、专线网络）可到达的一切，"
                "按系统列出，含公网 IP 和 SSH/RDP。"
            ),
        ),
    ] = False,
    output: Annotated[
        ReachFormat, typer.Option("--format", "-f", help=N_("text、markdown 或 json。"))
    ] = ReachFormat.text,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help=N_("从文件构建索引，不使用也不写入缓存。")),
    ] = False,
) -> None:
    """Ask the reach index, optionally compare with the cloud (REACH_HELP)."""
    from cgcloud import clock
    from cgcloud.loader import UsageError
    from cgcloud.reach import cache, compare, exposure, render
    from cgcloud.reach.index import ANY_SERVICE, QueryError, parse_endpoint, parse_target

    if to is None and source is None and not exposed and cloud is None:
        raise usage(_("请给出 --to、--from、--exposed 或 --cloud 之一（cgcloud reach --help）"))
    try:
        when = clock.now_local(at)
    except clock.ClockError as exc:
        raise usage(str(exc)) from None
    try:
        index = cache.load(list(paths or [Path("policies")]), use_cache=not no_cache)
    except UsageError as exc:
        raise usage(str(exc)) from None
    try:
        target, service = parse_target(to) if to is not None else (None, None)
        src = parse_endpoint(source, index.zone_refs) if source is not None else None
    except QueryError as exc:
        raise usage(str(exc)) from None
    for end in (target, src):  # a typo must not read as "nothing reaches it"
        name = end.placeholder if end is not None else None
        if name and name not in index.targets.placeholder and name not in index.sources.placeholder:
            raise usage(
                _("{name!r} 不是已知的区域，也不是任何行中的占位主机；区域: {zones}").format(
                    name=name, zones=_("、").join(sorted(index.zone_refs))
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
    from cgcloud.cli.options import exit_now as _exit  # skip freeing the index, as validate

    _exit(EXIT_FAILURE if unauthorised else EXIT_OK)


def _read_cloud(cloud: str) -> Any:
    """The cloud's groups, rules and ports as reach facts (reach/cloud.py)."""
    from cgcloud import engines
    from cgcloud.reach.cloud import view

    try:
        engine = engines.create(engines.DEFAULT, cloud)
        actual = engine.read(None, network_only=True)
    except Exception as exc:  # noqa: BLE001 - openstacksdk raises many kinds
        raise fail(
            _("云 {cloud}: {kind}: {exc}").format(cloud=cloud, kind=type(exc).__name__, exc=exc)
        ) from None
    return view(actual)


REACH_HELP = N_(
    "谁能在哪个端口到达某台主机、从何时起、依据谁的签字；云上允许的是否多于表单？\n\n"
    "退出码：0 已回答，1 发现未授权暴露（用 --cloud 时）或云错误，"
    "64 用法错误（--to/--from/--at 无效、路径不存在）。\n\n"
    "示例：\n\n"
    "    cgcloud reach policies/ --to 172.20.4.11:443 --at 2027-01-15\n\n"
    "    cgcloud reach policies/ --from 172.21.0.10\n\n"
    "    cgcloud reach policies/ --to 172.21.4.21 --cloud devcloud\n\n"
    "    cgcloud reach policies/ --exposed --cloud devcloud --format markdown"
)


def register(app: typer.Typer) -> None:
    """Add `reach` to the main app."""
    app.command("reach", help=REACH_HELP)(reach_cmd)

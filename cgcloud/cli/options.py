"""What every command group shares: the exit codes by name, the common options, output.

The exit codes are one table for every command, ``cgcloud/exitcodes.py`` (README,
docs/reliability.md §7); the click group that applies it to usage errors and
interrupts is ``cgcloud/cli/runtime.py``.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _

# the one table (cgcloud/exitcodes.py), by the names the command modules use
EXIT_OK = ExitCode.OK
EXIT_ERROR = ExitCode.FAILURE  # validation errors, cloud error, apply or an action failed
EXIT_FINDINGS = ExitCode.FAILURE
EXIT_CHANGES = ExitCode.CHANGES  # with --detailed-exitcode
EXIT_USAGE = ExitCode.USAGE
EXIT_DELETE_GUARD = ExitCode.DELETE_GUARD
EXIT_LOCKED = ExitCode.LOCKED
EXIT_DECLINED = ExitCode.DECLINED
EXIT_INTERRUPTED = ExitCode.INTERRUPTED
DEFAULT_MAX_DELETES = 20


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    gitlab = "gitlab"


class DocFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


PlanFormat = DocFormat  # text, markdown, json


class Format(StrEnum):
    text = "text"
    json = "json"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help=N_("策略文件或目录，递归读取（*.yaml、*.yml）。默认: policies/"),
        show_default=False,
    ),
]
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        help=N_(
            "假定当前为此时刻（ISO 8601，无时区偏移时按 Asia/Shanghai），例如 2026-12-01 "
            "或 2026-12-31T23:59:59。所有与时间有关的判断都用它。"
        ),
    ),
]
CloudOpt = Annotated[
    str,
    typer.Option(
        "--cloud",
        envvar="OS_CLOUD",
        help=N_(
            "clouds.yaml 中的云名称（合并 secure.yaml），与 openstacksdk 的用法一致；默认 $OS_CLOUD。"
        ),
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        max=86400.0,
        help=N_(
            "每个 OpenStack API 请求等待应答的秒数（连接最多 5 秒）；默认取 clouds.yaml 的 "
            "api_timeout，否则 60（docs/reliability.md）。"
        ),
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help=N_(
            "与云通信的引擎：openstack（默认）、memory（进程内的空云：全新的云会得到什么）"
            "或 pulumi（通过 Automation API 操作 Pulumi 栈；需要 Pulumi CLI，见 docs/pulumi.md）。"
        ),
    ),
]
StackOpt = Annotated[
    str | None,
    typer.Option(
        "--stack",
        help=N_("用于 --engine pulumi：Pulumi 栈名（默认为云的名字）。"),
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help=N_(
            "用于 --engine pulumi：Pulumi 状态后端 URL（默认取 $PULUMI_BACKEND_URL，"
            "否则为 cgcloud 状态目录下的本地 file:// 后端）。"
        ),
        show_default=False,
    ),
]


def engine_options(stack: str | None, backend: str | None) -> dict[str, str]:
    """--stack and --backend as the engine's own options (only those given)."""
    given = {"stack": stack, "backend": backend}
    return {k: v for k, v in given.items() if v is not None}


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def error_text(message: object) -> str:
    """``message`` prefixed as an error in the chosen language (错误: … / error: …):
    the one place that prefix is written, so every command says it alike."""
    return _("错误: {message}").format(message=message)


def error(message: object) -> None:
    """One error line on stderr."""
    err(error_text(message))


def warning(message: object) -> None:
    """One warning line on stderr, prefixed in the chosen language."""
    err(_("警告: {message}").format(message=message))


def usage(message: object) -> typer.Exit:
    """An error the user made in the command line (exit 64); raise what it returns."""
    error(message)
    return typer.Exit(EXIT_USAGE)


def fail(message: object, code: int = ExitCode.FAILURE) -> typer.Exit:
    """An error line and the exit code that goes with it; raise what it returns."""
    error(message)
    return typer.Exit(code)


def write(text: str) -> None:
    out = sys.stdout
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


def now_or_exit(value: str | None, code: int = EXIT_USAGE) -> datetime:
    """``--now`` parsed (or the real clock); a bad value is a clear error, not a traceback."""
    from cgcloud import clock

    try:
        return clock.now_local(value)
    except clock.ClockError as exc:
        raise fail(exc, code) from None


_FAST_EXIT = False


def fast_exit(on: bool) -> None:
    """Set by the real entry point (``cgcloud.cli.main``), never by tests."""
    global _FAST_EXIT
    _FAST_EXIT = on


def exit_now(code: int) -> NoReturn:
    """End the command. From the real entry point, skip tearing down the model of a large
    repository (0.1 s for 50,000 rows) once the output is flushed — as mypy does."""
    if _FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)

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
from cgcloud.i18n import _

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
        help="Policy files or directories, read recursively (*.yaml, *.yml). Default: policies/",
        show_default=False,
    ),
]
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Pretend it is this time (ISO 8601, Asia/Shanghai when no offset), e.g. 2026-12-01 "
        "or 2026-12-31T23:59:59. Every time-dependent decision uses it.",
    ),
]
CloudOpt = Annotated[
    str,
    typer.Option(
        "--cloud",
        envvar="OS_CLOUD",
        help="Cloud name in clouds.yaml (secure.yaml merged), as openstacksdk users "
        "expect; default $OS_CLOUD.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        max=86400.0,
        help="Seconds to wait for an answer to each OpenStack API request (connect: "
        "at most 5 s); default: clouds.yaml's api_timeout, else 60 "
        "(docs/reliability.md).",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Which engine talks to the cloud: openstack (default), memory (an empty "
        "in-process cloud: what a fresh cloud would get) or pulumi (a Pulumi stack through "
        "the Automation API; needs the Pulumi CLI, docs/pulumi.md).",
    ),
]
StackOpt = Annotated[
    str | None,
    typer.Option(
        "--stack",
        help="With --engine pulumi: the Pulumi stack (default: the cloud's name).",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="With --engine pulumi: the Pulumi state backend URL (default $PULUMI_BACKEND_URL, "
        "else a local file:// backend under cgcloud's state directory).",
        show_default=False,
    ),
]


def engine_options(stack: str | None, backend: str | None) -> dict[str, str]:
    """--stack and --backend as the engine's own options (only those given)."""
    given = {"stack": stack, "backend": backend}
    return {k: v for k, v in given.items() if v is not None}


def err(msg: str) -> None:
    typer.echo(msg, err=True)


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
        err(_("错误: {reason}").format(reason=exc))
        raise typer.Exit(code) from None


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

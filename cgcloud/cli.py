"""The `cgcloud` command: a thin typer app that parses options, runs the pipeline, renders."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cgcloud import __version__
from cgcloud.cli_runtime import HELP_OPTIONS, CgcloudGroup
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import _

app = typer.Typer(
    name="cgcloud",
    help=(
        "cgcloud 把已审批的云资源表单（云资源管理办法 附件1–4）变成合规的 OpenStack 云，并保持一致。\n\n"
        "Typical flow: `cgcloud validate policies/` in every pull request, then "
        "`cgcloud plan` / `cgcloud apply` against a cloud. Start with "
        "`cgcloud validate policies/` on the shipped example repository."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    cls=CgcloudGroup,  # one exit-code table, Chinese usage errors, safe output streams
    context_settings=HELP_OPTIONS,  # `-h` as well as `--help`, inherited by every command
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = ExitCode.OK, ExitCode.FAILURE, ExitCode.USAGE


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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cgcloud {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """cgcloud: approved cloud paperwork in, compliant OpenStack cloud out."""


def _now(value: str | None):  # type: ignore[no-untyped-def]
    from cgcloud import clock

    try:
        return clock.now_local(value)
    except clock.ClockError as exc:
        typer.echo(_("错误: {reason}").format(reason=exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None


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


@app.command()
def validate(
    paths: PathsArg = None,
    now: NowOpt = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text (file:line:col, for people), json, sarif (code scanning), "
            "github (workflow annotations), junit (one testcase per file), "
            "gitlab (GitLab code-quality report).",
        ),
    ] = OutputFormat.text,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Git revision to compare with: also report CG405 (content changed since "
            "BASE under a signature that was not renewed).",
        ),
    ] = None,
) -> None:
    """Check a policy repository against the format and the regulation's rules.

    Prints one finding per line: file:line:column, severity, a stable rule ID
    (see `cgcloud rules`), what is wrong and how to fix it.

    Exit codes: 0 no errors (warnings allowed), 1 errors found, 64 usage error
    (bad option or value, missing path); the full table is in the README.

    Examples:

        cgcloud validate policies/

        cgcloud validate policies/ --now 2027-01-01 --format github
    """
    from cgcloud import report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    when = _now(now)
    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if base is not None:
        from cgcloud.cli_gitops import stale_findings

        v.findings = sorted(
            [*v.findings, *stale_findings(base, paths or [Path("policies")], v.repo)],
            key=lambda f: f.sort_key,
        )
    if output is OutputFormat.gitlab:
        from cgcloud.gitops import codequality

        _write(codequality.render(v.findings))
    else:
        _write(report.render(v, output.value))
    _exit(EXIT_FINDINGS if has_errors(v.findings) else EXIT_OK)


@app.command()
def schema(
    kind: Annotated[
        str | None,
        typer.Argument(help="A kind (e.g. NetworkPolicy); all kinds when omitted.", show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema (2020-12) of a policy kind, or of all kinds.

    Editors use the same files through the `# yaml-language-server: $schema=…`
    line at the top of each policy file.
    """
    from cgcloud.schemas import KINDS, schema_for

    if kind is None:
        _write(json.dumps({k: schema_for(k) for k in KINDS}, ensure_ascii=False, indent=2))
        return
    match = {k.lower(): k for k in KINDS}.get(kind.lower())
    if match is None:
        typer.echo(f"错误: 未知的表单类型 {kind!r}；可用: {', '.join(KINDS)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    _write(json.dumps(schema_for(match), ensure_ascii=False, indent=2))


@app.command()
def rules(
    output: Annotated[
        DocFormat, typer.Option("--format", "-f", help="text, markdown (docs/rules.md) or json.")
    ] = DocFormat.text,
) -> None:
    """List every rule ID with its severity, the article it enforces and what it checks."""
    from cgcloud import report

    _write(report.render_rules(output.value))


@app.command()
def explain(
    paths: PathsArg = None,
    now: NowOpt = None,
    output: Annotated[
        DocFormat, typer.Option("--format", "-f", help="text, markdown (for a PR comment) or json.")
    ] = DocFormat.text,
) -> None:
    """Show what each approved form grants: windows, CIDRs, high-risk rows and why.

    This is what a reviewer reads in a pull request. Run `cgcloud validate`
    first: explain describes the forms as written, it does not judge them.
    """
    from cgcloud import explain as explainer
    from cgcloud import validate as pipeline
    from cgcloud.loader import UsageError

    when = _now(now)
    try:
        repo, _, _ = pipeline.load_repository(paths or [Path("policies")])
    except UsageError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    _write(explainer.explain(repo, when, output.value))


_FAST_EXIT = False


def _exit(code: int) -> NoReturn:
    """End the command. From the real entry point, skip tearing down the model of a large
    repository (0.1 s for 50,000 rows) once the output is flushed — as mypy does."""
    if _FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)


def _write(text: str) -> None:
    out = sys.stdout
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


def _mount_optional() -> None:
    """Sub-apps that live outside the core (they import nothing heavy at module level)."""
    try:
        from cgcloud.devcloud.cli import app as devcloud_app
    except ImportError:  # pragma: no cover - the devcloud package is part of the source tree
        return
    app.add_typer(
        devcloud_app,
        name="devcloud",
        help="A real OpenStack on 127.0.0.1 for trying cgcloud and for its integration tests.",
    )


_mount_optional()

# --- reconcile: `cgcloud plan` / `cgcloud apply` live in cgcloud/cli_reconcile.py ---
from cgcloud.cli_reconcile import register as _register_reconcile  # noqa: E402

_register_reconcile(app)
# --- end reconcile ------------------------------------------------------------------
# --- enforce: `cgcloud enforce` / `cgcloud upcoming` live in cgcloud/cli_enforce.py ---
from cgcloud.cli_enforce import register as _register_enforce  # noqa: E402

_register_enforce(app)

# --- exporter: `cgcloud exporter` lives in cgcloud/cli_exporter.py (issue 6) ---
from cgcloud.cli_exporter import register as _register_exporter  # noqa: E402

_register_exporter(app)

# --- gitops: `cgcloud diff` / `pr-comment` / `recertify` live in cgcloud/cli_gitops.py (issue 16) ---
from cgcloud.cli_gitops import register as _register_gitops  # noqa: E402

_register_gitops(app)
# --- report: `cgcloud report` lives in cgcloud/cli_report.py (issue 18) ---
from cgcloud.cli_report import register as _register_report  # noqa: E402

_register_report(app)
from cgcloud.cli_reach import register as _register_reach  # noqa: E402  (issue 17)

_register_reach(app)
# --- bastion: `cgcloud bastion plan|apply`, `ssh`, `tunnel` live in cgcloud/cli_bastion.py (issue 15) ---
from cgcloud.cli_bastion import register as _register_bastion  # noqa: E402

_register_bastion(app)


def main() -> None:
    global _FAST_EXIT
    _FAST_EXIT = True
    app()

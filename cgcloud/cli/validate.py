"""`cgcloud validate`, `schema`, `rules` and `explain`: the commands on the forms alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cgcloud.cli.options import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    DocFormat,
    NowOpt,
    OutputFormat,
    PathsArg,
    exit_now,
    now_or_exit,
    write,
)


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

    when = now_or_exit(now)
    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if base is not None:
        from cgcloud.cli.gitops import stale_findings

        v.findings = sorted(
            [*v.findings, *stale_findings(base, paths or [Path("policies")], v.repo)],
            key=lambda f: f.sort_key,
        )
    if output is OutputFormat.gitlab:
        from cgcloud.gitops import codequality

        write(codequality.render(v.findings))
    else:
        write(report.render(v, output.value))
    exit_now(EXIT_FINDINGS if has_errors(v.findings) else EXIT_OK)


def schema(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="A kind (e.g. NetworkPolicy); all kinds when omitted.", show_default=False
        ),
    ] = None,
) -> None:
    """Print the JSON Schema (2020-12) of a policy kind, or of all kinds.

    Editors use the same files through the `# yaml-language-server: $schema=…`
    line at the top of each policy file.
    """
    from cgcloud.schemas import KINDS, schema_for

    if kind is None:
        write(json.dumps({k: schema_for(k) for k in KINDS}, ensure_ascii=False, indent=2))
        return
    match = {k.lower(): k for k in KINDS}.get(kind.lower())
    if match is None:
        typer.echo(f"错误: 未知的表单类型 {kind!r}；可用: {', '.join(KINDS)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    write(json.dumps(schema_for(match), ensure_ascii=False, indent=2))


def rules(
    output: Annotated[
        DocFormat, typer.Option("--format", "-f", help="text, markdown (docs/rules.md) or json.")
    ] = DocFormat.text,
) -> None:
    """List every rule ID with its severity, the article it enforces and what it checks."""
    from cgcloud import report

    write(report.render_rules(output.value))


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

    when = now_or_exit(now)
    try:
        repo, _, _ = pipeline.load_repository(paths or [Path("policies")])
    except UsageError as exc:
        typer.echo(f"错误: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    write(explainer.explain(repo, when, output.value))


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("rules")(rules)
    app.command("explain")(explain)

"""`cgcloud validate`, `schema`, `rules` and `explain`: the commands on the forms alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cgcloud.cli.options import (
    EXIT_FINDINGS,
    EXIT_OK,
    DocFormat,
    NowOpt,
    OutputFormat,
    PathsArg,
    exit_now,
    now_or_exit,
    usage,
    write,
)
from cgcloud.i18n import N_, _


def validate(
    paths: PathsArg = None,
    now: NowOpt = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help=N_(
                "text（file:line:col，给人看）、json、sarif（代码扫描）、"
                "github（工作流注释）、junit（每个文件一个测试用例）、"
                "gitlab（GitLab 代码质量报告）。"
            ),
        ),
    ] = OutputFormat.text,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help=N_(
                "用于比较的 Git 版本：同时报告 CG405（自 BASE 以来内容已改变，签字却未更新）。"
            ),
        ),
    ] = None,
) -> None:
    """Load, check and render: the pull-request gate (help: VALIDATE_HELP)."""
    from cgcloud import report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    when = now_or_exit(now)
    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        raise usage(exc) from None
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
            help=N_("表单类型（例如 NetworkPolicy）；省略时输出全部类型。"), show_default=False
        ),
    ] = None,
) -> None:
    """The schemas the loader checks with, for editors and other tools (SCHEMA_HELP)."""
    from cgcloud.schemas import KINDS, schema_for

    if kind is None:
        write(json.dumps({k: schema_for(k) for k in KINDS}, ensure_ascii=False, indent=2))
        return
    match = {k.lower(): k for k in KINDS}.get(kind.lower())
    if match is None:
        raise usage(
            _("未知的表单类型 {kind!r}；可用: {kinds}").format(kind=kind, kinds=", ".join(KINDS))
        )
    write(json.dumps(schema_for(match), ensure_ascii=False, indent=2))


def rules(
    output: Annotated[
        DocFormat,
        typer.Option("--format", "-f", help=N_("text、markdown（docs/rules.md）或 json。")),
    ] = DocFormat.text,
) -> None:
    """The rules table (RULES_HELP); docs/rules.md is its markdown."""
    from cgcloud import report

    write(report.render_rules(output.value))


def explain(
    paths: PathsArg = None,
    now: NowOpt = None,
    output: Annotated[
        DocFormat,
        typer.Option("--format", "-f", help=N_("text、markdown（用于合并请求评论）或 json。")),
    ] = DocFormat.text,
) -> None:
    """What the forms grant, for a reviewer (EXPLAIN_HELP)."""
    from cgcloud import explain as explainer
    from cgcloud import validate as pipeline
    from cgcloud.loader import UsageError

    when = now_or_exit(now)
    try:
        repo, _, _ = pipeline.load_repository(paths or [Path("policies")])
    except UsageError as exc:
        raise usage(exc) from None
    write(explainer.explain(repo, when, output.value))


VALIDATE_HELP = N_(
    "按表单格式和办法的规则检查策略仓库。\n\n"
    "每条发现一行：文件:行:列、严重级别、稳定的规则 ID（见 `cgcloud rules`）、"
    "问题所在以及修正方法。\n\n"
    "退出码：0 无错误（允许警告），1 发现错误，64 用法错误（选项或取值无效、路径不存在）；"
    "完整的表见 README。\n\n"
    "示例：\n\n"
    "    cgcloud validate policies/\n\n"
    "    cgcloud validate policies/ --now 2027-01-01 --format github"
)
SCHEMA_HELP = N_(
    "输出某一表单类型或全部类型的 JSON Schema（2020-12）。\n\n"
    "编辑器通过每个策略文件开头的 `# yaml-language-server: $schema=…` 行使用同样的文件。"
)
RULES_HELP = N_("列出每个规则 ID 及其严重级别、所执行的条款和检查内容。")
EXPLAIN_HELP = N_(
    "说明每份已批准表单授予了什么：时间窗口、CIDR、高危行及其理由。\n\n"
    "这是审核人在合并请求中阅读的内容。请先运行 `cgcloud validate`："
    "explain 按表单原样描述，不作评判。"
)


def register(app: typer.Typer) -> None:
    app.command("validate", help=VALIDATE_HELP)(validate)
    app.command("schema", help=SCHEMA_HELP)(schema)
    app.command("rules", help=RULES_HELP)(rules)
    app.command("explain", help=EXPLAIN_HELP)(explain)

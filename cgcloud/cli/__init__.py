"""The `cgcloud` command: a thin typer app that parses options, calls the core, renders.

One module per command group (``validate``: validate/schema/rules/explain,
``reconcile``: plan/apply, ``enforce``: enforce/upcoming, ``exporter``, ``gitops``:
diff/pr-comment/recertify, ``report``, ``reach``, ``bastion``), the shared options and
the exit codes by name in ``options``, the click group in ``runtime``, the language
(``--lang``, help texts translated per run) in ``language``, Chinese help pages and
usage errors in ``helpformat`` and ``clickwords``; this module only builds the app.
Nothing heavy (openstacksdk) is imported until a command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cgcloud import __version__
from cgcloud.cli import (
    bastion,
    enforce,
    exporter,
    gitops,
    language,
    options,
    reach,
    reconcile,
    report,
    validate,
)
from cgcloud.cli.runtime import HELP_OPTIONS, CgcloudGroup
from cgcloud.i18n import N_, _

app = typer.Typer(
    name="cgcloud",
    help=N_(
        "cgcloud 把已审批的云资源表单（云资源管理办法 附件1–4）变成合规的 OpenStack 云，并保持一致。\n\n"
        "典型流程：每个合并请求中运行 `cgcloud validate policies/`，然后对云运行 "
        "`cgcloud plan` / `cgcloud apply`。可先在自带的示例仓库上运行 "
        "`cgcloud validate policies/`。"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    cls=CgcloudGroup,  # one exit-code table, Chinese usage errors, safe output streams
    context_settings=HELP_OPTIONS,  # `-h` as well as `--help`, inherited by every command
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cgcloud {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help=N_("显示版本并退出。")),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            language.OPTION,
            metavar="zh|en",
            is_eager=True,
            expose_value=False,
            callback=language.check,
            help=language.LANG_HELP,
            show_default=False,
        ),
    ] = None,
) -> None:
    """The root's options; its help is the app's (typer shows the app's help=)."""


def _mount_optional() -> None:
    """The devcloud is a distribution of its own (devcloud/pyproject.toml): mounted when
    installed, else `cgcloud devcloud` says how to get it."""
    help_text = N_("127.0.0.1 上的真实 OpenStack，用于试用 cgcloud 和运行其集成测试。")
    try:
        from cgcloud.devcloud.cli import app as devcloud_app
    except ImportError:

        @app.command(
            "devcloud",
            help=help_text,
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        )
        def not_installed(ctx: typer.Context) -> None:
            raise options.fail(
                _(
                    "cgcloud devcloud 未安装；在 cgcloud 源码仓库中运行 "
                    "pip install ./devcloud（docs/devcloud.md）"
                )
            )

        return
    app.add_typer(devcloud_app, name="devcloud", help=help_text)


_mount_optional()

# one module per command group; each adds its commands to the app
for _group in (validate, reconcile, enforce, exporter, gitops, report, reach, bastion):
    _group.register(app)


def main() -> None:
    options.fast_exit(True)
    app()

"""`cgcloud pulumi import-file`: Pulumi's bulk import file for what cgcloud already made.

A team moving a cgcloud-managed cloud under Pulumi needs every resource adopted
(`pulumi import --file FILE`) before its first `pulumi up`, or Pulumi would try to
create them again. The forms are compiled exactly as `cgcloud plan` compiles them
(validate → compile with the OpenStack engine's quota room), the cloud is read through
the OpenStack engine (the registry), and engines/pulumi/importfile.py meets the
program's declarations with the cloud's resources by name (docs/pulumi.md).
No Pulumi CLI is needed: the program runs under Pulumi's mocks.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.cli.options import (
    CloudOpt,
    NowOpt,
    PathsArg,
    TimeoutOpt,
    err,
    fail,
    usage,
    warning,
)
from cgcloud.i18n import N_, _


def import_file_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    now: NowOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help=N_("写入此文件（默认: 标准输出）；供 pulumi import --file 使用。"),
            show_default=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help=N_(
                "配额导入 ID（<项目ID>/<区域>）中的区域；默认取 clouds.yaml 中该云的 region_name。"
            ),
            show_default=False,
        ),
    ] = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Compile, read the cloud, write the import file, list what it leaves out."""
    from cgcloud import desired
    from cgcloud.cli.reconcile import _cloud_error, _engine, _prepare

    try:
        from cgcloud.engines.pulumi import importfile
    except ImportError as exc:
        raise fail(
            _("需要 Pulumi 的 Python 包（{err}）：pip install 'cgcloud[pulumi]'").format(err=exc)
        ) from None
    if out is not None and not out.parent.is_dir():
        raise usage(_("输出目录不存在: {path}").format(path=out.parent))
    when, repo = _prepare(paths, now)
    engine = _engine("openstack", cloud, timeout=timeout)
    state = desired.compile(repo, when, engine.quota_room)
    try:
        actual = engine.read(state)
        where = region or _region(engine)
    except Exception as exc:  # noqa: BLE001 - the cloud's errors, one line each
        raise _cloud_error(cloud, exc) from None
    if not where:
        raise usage(
            _("云 {cloud} 在 clouds.yaml 中没有 region_name：请用 --region 指定").format(
                cloud=cloud
            )
        )
    result = importfile.build(state, actual, where)
    text = json.dumps(result.document(), ensure_ascii=False, indent=4) + "\n"
    try:
        _write(text, out)
    except OSError as exc:
        raise fail(_("无法写入 {path}: {err}").format(path=out, err=exc.strerror)) from None
    _summary(result, out)


def _region(engine: Any) -> str | None:
    """The region of the connection the OpenStack engine opened (clouds.yaml's region_name):
    the region the provider uses with ``openstack:cloud`` naming the same entry."""
    conn = getattr(engine, "conn", None)
    config = getattr(conn, "config", None)
    name = getattr(config, "region_name", None)
    return str(name) if name else None


def _write(text: str, out: Path | None) -> None:
    """To stdout, or to ``out`` atomically (a reader never sees half a file)."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _summary(result: Any, out: Path | None) -> None:
    """On stderr (the file may be stdout): what is in the file and everything it leaves out."""
    n = len(result.resources)
    if out is None:
        err(_("已写出 {n} 个资源的导入项（pulumi import --file，见 docs/pulumi.md）").format(n=n))
    else:
        err(
            _(
                "已写出 {n} 个资源的导入项到 {path}（pulumi import --file，见 docs/pulumi.md）"
            ).format(n=n, path=out)
        )
    if result.absent:
        err(
            _("{n} 个程序声明的资源云上还没有，不在文件中（pulumi up 将创建）:").format(
                n=len(result.absent)
            )
        )
        for e in result.absent:
            err(f"  {e.type} {e.name}")
    if result.undeclared:
        err(
            _(
                "{n} 个 cgcloud 管理的云资源程序不再声明，不在文件中（Pulumi 不管理也不删除它们；"
                "先用 cgcloud apply 在同一 --now 收敛，或手动处理）:"
            ).format(n=len(result.undeclared))
        )
        for h in result.undeclared:
            err(f"  {h.kind} {h.name} {h.id}")
    for name in result.conflicts:
        warning(
            _(
                "规格 {name} 已存在但不是 cgcloud 创建的：未导入；pulumi up 创建同名规格会被拒绝，"
                "请人工处理"
            ).format(name=name)
        )
    for line in result.unresolved:
        warning(line)


IMPORT_FILE_HELP = N_(
    "为已由 cgcloud 创建的资源生成 Pulumi 批量导入文件（pulumi import --file），"
    "使 Pulumi 栈接管它们而不重建。\n\n"
    "与 plan 相同地校验并编译表单，在 Pulumi 的 mocks 下运行程序得到栈将声明的每个资源"
    "（类型与名称），读取云得到各资源的 ID。云上没有的资源和程序未声明的 cgcloud 资源"
    "不写入文件，在标准错误中列出。不需要 Pulumi CLI。"
    "退出码：0 已写出，1 校验错误或云错误，64 用法错误。"
)
PULUMI_HELP = N_("把 cgcloud 管理的云交给 Pulumi 栈（docs/pulumi.md）。")


def register(app: typer.Typer) -> None:
    """Add `pulumi import-file` to the main app."""
    pulumi_app = typer.Typer(
        name="pulumi", no_args_is_help=True, rich_markup_mode=None, help=PULUMI_HELP
    )
    pulumi_app.command("import-file", help=IMPORT_FILE_HELP)(import_file_cmd)
    app.add_typer(pulumi_app, name="pulumi")

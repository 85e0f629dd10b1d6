"""`cgcloud diff`, `cgcloud pr-comment` and `cgcloud recertify`: the GitOps commands.

Registered by cli.py with one line; the logic lives in ``cgcloud.gitops``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.cli.options import err, usage
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _

DEFAULT_PATH = Path("policies")


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _now(value: str | None) -> Any:
    from cgcloud import clock

    try:
        return clock.now_local(value)
    except clock.ClockError as exc:
        raise usage(str(exc)) from None


def _split_args(root: Path, head_or_path: str | None, path: Path | None) -> tuple[str | None, Path]:
    """``diff BASE [HEAD] [PATH]``: the second argument is a revision when git resolves
    it to a commit, otherwise a path (like ``git diff``)."""
    from cgcloud.gitops import revisions

    if head_or_path is None:
        return None, path or DEFAULT_PATH
    if path is not None:
        return head_or_path, path
    if revisions.resolve(root, head_or_path) is not None and not Path(head_or_path).exists():
        return head_or_path, DEFAULT_PATH
    return None, Path(head_or_path)


def load_pair(base: str, head: str | None, path: Path) -> tuple[Any, Any]:
    """The base revision and the head (a revision, or the work tree when None)."""
    from cgcloud.gitops import revisions
    from cgcloud.loader import UsageError

    try:
        root = revisions.toplevel(Path.cwd() / path)
        rels = revisions.relative_paths(root, [path])
        old = revisions.load_revision(root, base, rels)
        if head is None:
            if not path.exists():
                raise usage(_("路径不存在: {p}").format(p=path))
            new = revisions.load_worktree([path])
        else:
            new = revisions.load_revision(root, head, rels)
    except revisions.GitError as exc:
        raise usage(str(exc)) from None
    except UsageError as exc:
        raise usage(str(exc)) from None
    return old, new


def semantic_diff(base: str, head_or_path: str | None, path: Path | None) -> Any:
    from cgcloud.gitops import revisions, semdiff

    try:
        root = revisions.toplevel(Path.cwd() / (path or Path(".")))
    except revisions.GitError as exc:
        raise usage(str(exc)) from None
    head, where = _split_args(root, head_or_path, path)
    old, new = load_pair(base, head, where)
    d = semdiff.diff(old.repo, new.repo, base, head or _("工作区"))
    d.base_unread, d.head_unread = old.load_errors, new.load_errors
    return d


def diff_cmd(
    base: Annotated[str, typer.Argument(help=N_("基准版本（例如 origin/main、HEAD~1）。"))],
    head: Annotated[
        str | None,
        typer.Argument(
            help=N_("新版本；省略时取磁盘上的文件。此处给出路径即视为 PATH。"),
            show_default=False,
        ),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Argument(
            help=N_("git 仓库内的策略目录或文件（默认: policies/）。"),
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        DiffFormat, typer.Option("--format", "-f", help=N_("text、markdown 或 json。"))
    ] = DiffFormat.text,
) -> None:
    """The semantic diff of two revisions, rendered (DIFF_HELP)."""
    from cgcloud.gitops import render

    d = semantic_diff(base, head, path)
    sys.stdout.write(render.render(d, output.value))
    sys.stdout.flush()
    if d.findings or d.head_unread:
        raise typer.Exit(ExitCode.FAILURE)
    raise typer.Exit(ExitCode.CHANGES if d.has_changes else ExitCode.OK)


def stale_findings(base: str, paths: list[Path], head_repo: Any) -> list[Any]:
    """CG405 findings of the work tree ``paths`` (already loaded as ``head_repo``) against
    ``base``: used by ``validate --base`` and ``pr-comment``."""
    from cgcloud.gitops import revisions, semdiff

    try:
        root = revisions.toplevel(Path.cwd() / paths[0])
        old = revisions.load_revision(root, base, revisions.relative_paths(root, paths))
    except revisions.GitError as exc:
        raise usage(str(exc)) from None
    return semdiff.stale_approvals(old.repo, head_repo)


def pr_comment_cmd(
    base: Annotated[str, typer.Argument(help=N_("基准版本：合并请求的目标（例如 origin/main）。"))],
    path: Annotated[
        Path | None,
        typer.Argument(help=N_("策略目录（默认: policies/）。"), show_default=False),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help=N_("假定当前为此时刻（ISO 8601）。"))
    ] = None,
    plan_json: Annotated[
        Path | None,
        typer.Option(
            "--plan-json", help=N_("要包含的 `cgcloud plan --format json` 输出（云上的变更）。")
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=N_("把评论写到此文件，而不是标准输出。")),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help=N_("最大长度（字符数；GitHub: 65536）。"), min=2000)
    ] = 65536,
) -> None:
    """Validate the head, diff it against BASE, compose the comment (PR_COMMENT_HELP)."""
    import json

    from cgcloud import validate as pipeline
    from cgcloud.gitops import comment, revisions, semdiff
    from cgcloud.loader import UsageError

    where = path or DEFAULT_PATH
    when = _now(now)
    plan: dict[str, Any] | None = None
    if plan_json is not None:
        try:
            plan = json.loads(plan_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise usage(_("无法读取 --plan-json {p}: {e}").format(p=plan_json, e=exc)) from None
        if not isinstance(plan, dict) or plan.get("format") != "cgcloud-plan/v1":
            raise usage(
                _("--plan-json {p} 不是 cgcloud plan --format json 的输出").format(p=plan_json)
            )
    try:
        v = pipeline.validate([where], when)
        root = revisions.toplevel(Path.cwd() / where)
        old = revisions.load_revision(root, base, revisions.relative_paths(root, [where]))
    except (UsageError, revisions.GitError) as exc:
        raise usage(str(exc)) from None
    d = semdiff.diff(old.repo, v.repo, base, _("本次修改"))
    d.base_unread = old.load_errors
    findings = sorted([*v.findings, *d.findings], key=lambda f: f.sort_key)
    body = comment.compose(findings, d, plan, limit=limit)
    if output_file is not None:
        output_file.write_text(body, encoding="utf-8")
    else:
        sys.stdout.write(body)
        sys.stdout.flush()


def recertify_cmd(
    path: Annotated[
        Path | None,
        typer.Argument(help=N_("策略目录（默认: policies/）。"), show_default=False),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=0, help=N_("从今天起向后看的天数。"))] = 30,
    now: Annotated[
        str | None, typer.Option("--now", help=N_("假定当前为此时刻（ISO 8601）。"))
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help=N_("创建一个含续期草稿（签字栏为空）的分支，一次提交。"),
        ),
    ] = False,
    branch: Annotated[
        str | None,
        typer.Option("--branch", help=N_("--write 的分支名（默认 recertify/YYYY-MM-DD）。")),
    ] = None,
    base: Annotated[str, typer.Option("--base", help=N_("分支的起点版本。"))] = "HEAD",
    output: Annotated[
        DiffFormat, typer.Option("--format", "-f", help=N_("text、markdown 或 json。"))
    ] = DiffFormat.text,
) -> None:
    """List what expires; with --write, commit the drafts on a branch (RECERTIFY_HELP)."""
    import json

    from cgcloud import clock
    from cgcloud import validate as pipeline
    from cgcloud.gitops import branch as gitbranch
    from cgcloud.gitops import recertify as rc
    from cgcloud.gitops import revisions
    from cgcloud.loader import UsageError

    where = path or DEFAULT_PATH
    when = _now(now)
    today = clock.today(when)
    try:
        repo, findings, _files = pipeline.load_repository([where])
    except UsageError as exc:
        raise usage(str(exc)) from None
    items = rc.expiring(repo, today, days)
    if output is DiffFormat.json:
        sys.stdout.write(
            json.dumps(
                {
                    "today": today.isoformat(),
                    "days": days,
                    "expiring": [e.to_dict() for e in items],
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    else:
        sys.stdout.write(_recertify_text(items, today, days, output is DiffFormat.markdown))
    if not write or not items:
        return
    try:
        root = revisions.toplevel(Path.cwd() / where)
        cwd_rel = Path.cwd().resolve().relative_to(root.resolve())
    except (revisions.GitError, ValueError) as exc:
        raise usage(str(exc)) from None
    files = {}
    lines = []
    for group in rc.group(items):
        form = group[0].form
        start = min(e.next_start for e in group)
        rel = (cwd_rel / rc.draft_path(form, start)).as_posix()
        header = _(
            "续期草稿：{id} 的下一期（{what}）。签字栏为空：审核人审阅后签字，合并即为再认证。"
        ).format(id=form.id, what=_("、").join(_(rc.WHAT[e.kind]) for e in group))
        files[rel] = rc.to_yaml(rc.draft(repo, group), header)
        lines.append(
            f"- {rc.draft_id(form.id, start)} ← {form.id}: "
            + _("；").join(
                _("{what} {start} 至 {end}").format(
                    what=_(rc.WHAT[e.kind]), start=e.next_start, end=e.next_end
                )
                for e in group
            )
        )
    name = branch or f"recertify/{today.isoformat()}"
    message = (
        _("recertify: {n} 份续期草稿（{today} 起 {days} 天内到期），签字栏为空").format(
            n=len(files), today=today, days=days
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )
    try:
        commit = gitbranch.commit_files(root, base, name, files, message)
    except revisions.GitError as exc:
        raise usage(str(exc)) from None
    err(
        _(
            "已创建分支 {b}（提交 {c}）：{n} 份续期草稿。推送并发起合并请求：git push -u origin {b}"
        ).format(b=name, c=commit[:12], n=len(files))
    )


def _recertify_text(items: list[Any], today: Any, days: int, markdown: bool) -> str:
    from cgcloud.gitops import recertify as rc

    if not items:
        return _("{today} 起 {days} 天内没有到期的授权。").format(today=today, days=days) + "\n"
    head = _("{today} 起 {days} 天内到期的授权（{n} 项）:").format(
        today=today, days=days, n=len(items)
    )
    rows = []
    for e in items:
        state = _("已批准") if e.approved else _("未批准")
        rows.append(
            [
                e.form.id,
                e.form.system,
                _(rc.WHAT[e.kind]),
                str(e.end),
                str(e.days_left),
                _("{start} 至 {end}").format(start=e.next_start, end=e.next_end),
                state,
                e.form.at.file,
            ]
        )
    if markdown:
        out = [
            f"### {head}",
            "",
            _("| 表单 | 系统 | 授权 | 到期 | 剩余天数 | 续期期间 | 状态 | 文件 |"),
            "|---|---|---|---|---|---|---|---|",
        ]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out) + "\n"
    return head + "\n" + "\n".join("  " + "  ".join(r) for r in rows) + "\n"


DIFF_HELP = N_(
    "对表单的一次修改授予或收回了什么，逐行列出。\n\n"
    "按含义比较策略仓库的两个版本：表单的新增、删除、修改；访问的授予、收回、放宽或收窄；"
    "窗口的延长或移动；高危窗口的开启；批复资源的增减；新增的关停。调整行的顺序或修改注释"
    "不算变更。同时报告 CG405：签字是复制的（未更新），内容却改变了。\n\n"
    "退出码：0 无语义变更，2 有变更，1 错误（发现 CG405，或新版本有无法读取的表单），"
    "64 用法错误（未知版本、不是 git 仓库、路径不存在）。\n\n"
    "示例：\n\n"
    "    cgcloud diff origin/main HEAD policies/\n\n"
    "    cgcloud diff HEAD~1 --format markdown"
)
PR_COMMENT_HELP = N_(
    "合并请求的评论：先列校验发现、授予、收回和云上的变更，细节折叠；"
    "输出确定（机器人按第一行找到并更新同一条评论）。\n\n"
    "比较磁盘上的文件（合并请求的新版本）与 BASE。退出码：0 评论已写出（无论内容如何："
    "由 validate 与 diff 步骤让任务失败），64 用法错误。"
)
RECERTIFY_HELP = N_(
    "列出 --days 天内到期的授权：高危窗口、普通期限、年度批复。加 --write 时创建一个分支，"
    "其中是这些表单下一期的副本，签字栏为空，一次提交——据此发起合并请求；签字后合并即为"
    "再认证。工作区、暂存区和当前分支都不会被改动。\n\n"
    "退出码：0 已列出（或已写出分支；无到期项时也是 0），1 git 写分支失败，"
    "64 用法错误（分支已存在、不是 git 仓库）。"
)


def register(app: typer.Typer) -> None:
    app.command("diff", help=DIFF_HELP)(diff_cmd)
    app.command("pr-comment", help=PR_COMMENT_HELP)(pr_comment_cmd)
    app.command("recertify", help=RECERTIFY_HELP)(recertify_cmd)

"""`cgcloud diff`, `cgcloud pr-comment` and `cgcloud recertify`: the GitOps commands.

Registered by cli.py with one line; the logic lives in ``cgcloud.gitops``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.i18n import _

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_USAGE = 0, 1, 2, 64
DEFAULT_PATH = Path("policies")


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _usage(msg: str) -> typer.Exit:
    _err(_("错误: {msg}").format(msg=msg))
    return typer.Exit(EXIT_USAGE)


def _now(value: str | None) -> Any:
    from cgcloud import clock

    try:
        return clock.now_local(value)
    except clock.ClockError as exc:
        raise _usage(str(exc)) from None


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
                raise _usage(_("路径不存在: {p}").format(p=path))
            new = revisions.load_worktree([path])
        else:
            new = revisions.load_revision(root, head, rels)
    except revisions.GitError as exc:
        raise _usage(str(exc)) from None
    except UsageError as exc:
        raise _usage(str(exc)) from None
    return old, new


def semantic_diff(base: str, head_or_path: str | None, path: Path | None) -> Any:
    from cgcloud.gitops import revisions, semdiff

    try:
        root = revisions.toplevel(Path.cwd() / (path or Path(".")))
    except revisions.GitError as exc:
        raise _usage(str(exc)) from None
    head, where = _split_args(root, head_or_path, path)
    old, new = load_pair(base, head, where)
    d = semdiff.diff(old.repo, new.repo, base, head or _("工作区"))
    d.base_unread, d.head_unread = old.load_errors, new.load_errors
    return d


def diff_cmd(
    base: Annotated[str, typer.Argument(help="Base revision (e.g. origin/main, HEAD~1).")],
    head: Annotated[
        str | None,
        typer.Argument(
            help="Head revision; the files on disk when omitted. A path here is PATH.",
            show_default=False,
        ),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Policy directory or file inside the git repository (default: policies/).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text, markdown or json.")
    ] = DiffFormat.text,
) -> None:
    """What a change to the forms grants or takes away, row by row.

    Compares two revisions of the policy repository by meaning: forms added,
    removed, changed; access granted, revoked, widened or narrowed; windows
    extended or moved; high-risk windows opened; approved resources up or down;
    shutdowns added. Reordering rows or editing comments is no change. Also
    reports CG405: content changed under a copied (not renewed) signature.

    Exit codes: 0 no semantic change, 2 changes, 1 error (CG405 found, or the
    head has forms that cannot be read), 64 usage error (unknown revision, not
    a git repository, missing path).

    Examples:

        cgcloud diff origin/main HEAD policies/

        cgcloud diff HEAD~1 --format markdown
    """
    from cgcloud.gitops import render

    d = semantic_diff(base, head, path)
    sys.stdout.write(render.render(d, output.value))
    sys.stdout.flush()
    if d.findings or d.head_unread:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_CHANGES if d.has_changes else EXIT_OK)


def stale_findings(base: str, paths: list[Path], head_repo: Any) -> list[Any]:
    """CG405 findings of the work tree ``paths`` (already loaded as ``head_repo``) against
    ``base``: used by ``validate --base`` and ``pr-comment``."""
    from cgcloud.gitops import revisions, semdiff

    try:
        root = revisions.toplevel(Path.cwd() / paths[0])
        old = revisions.load_revision(root, base, revisions.relative_paths(root, paths))
    except revisions.GitError as exc:
        raise _usage(str(exc)) from None
    return semdiff.stale_approvals(old.repo, head_repo)


def pr_comment_cmd(
    base: Annotated[
        str, typer.Argument(help="Base revision: the pull request's target (e.g. origin/main).")
    ],
    path: Annotated[
        Path | None,
        typer.Argument(help="Policy directory (default: policies/).", show_default=False),
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Pretend it is this time (ISO 8601).")
    ] = None,
    plan_json: Annotated[
        Path | None,
        typer.Option(
            "--plan-json", help="Output of `cgcloud plan --format json` to include (cloud changes)."
        ),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the comment here instead of stdout."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="Maximum length in characters (GitHub: 65536).", min=2000)
    ] = 65536,
) -> None:
    """The pull-request comment: findings, grants, revocations and cloud changes first,
    details folded; deterministic (a bot updates one comment, found by its first line).

    Compares the files on disk (the pull request's head) with BASE. Exit codes: 0 the
    comment was written (whatever it says: the validate and diff steps fail the job),
    64 usage error.
    """
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
            raise _usage(_("无法读取 --plan-json {p}: {e}").format(p=plan_json, e=exc)) from None
        if not isinstance(plan, dict) or plan.get("format") != "cgcloud-plan/v1":
            raise _usage(
                _("--plan-json {p} 不是 cgcloud plan --format json 的输出").format(p=plan_json)
            )
    try:
        v = pipeline.validate([where], when)
        root = revisions.toplevel(Path.cwd() / where)
        old = revisions.load_revision(root, base, revisions.relative_paths(root, [where]))
    except (UsageError, revisions.GitError) as exc:
        raise _usage(str(exc)) from None
    d = semdiff.diff(old.repo, v.repo, base, _("本次修改"))
    d.base_unread = old.load_errors
    findings = sorted([*v.findings, *d.findings], key=lambda f: f.sort_key)
    body = comment.compose(findings, d, plan, limit=limit)
    if output_file is not None:
        output_file.write_text(body, encoding="utf-8")
    else:
        sys.stdout.write(body)
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_cmd)
    app.command("pr-comment")(pr_comment_cmd)

"""A policy repository as it was at a git revision.

Why ``git`` itself (subprocess) and not dulwich or GitPython: every CI runner and
developer machine that has the policy repository has git; ``git archive`` exports
a tree exactly as committed (honouring the index of that commit, not the work
tree), and ``git rev-parse`` resolves every revision syntax a user knows
(``origin/main``, ``HEAD~1``, ``main...HEAD`` merge bases via ``git merge-base``).
GitPython shells out to git anyway; dulwich would add a second implementation of
revision parsing with its own gaps.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cgcloud import model
from cgcloud.findings import Finding
from cgcloud.i18n import _

GIT_TIMEOUT = 120.0  # seconds; a large repository's archive on a loaded 2-core box


class GitError(Exception):
    """git is missing, the directory is not a repository, or a revision is unknown."""


def _git(args: list[str], cwd: Path) -> bytes:
    env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise GitError(_("找不到 git 命令：请先安装 git")) from None
    except subprocess.TimeoutExpired:
        raise GitError(
            _("git {args} 超时（{s:.0f} 秒）").format(args=" ".join(args), s=GIT_TIMEOUT)
        ) from None
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            _("git {args} 失败: {msg}").format(
                args=" ".join(args), msg=msg[-1] if msg else done.returncode
            )
        )
    return done.stdout


def toplevel(start: Path) -> Path:
    """The root of the git work tree that holds ``start``."""
    where = start if start.is_dir() else start.parent
    while not where.exists():
        where = where.parent
    try:
        out = _git(["rev-parse", "--show-toplevel"], where)
    except GitError:
        raise GitError(_("{p} 不在 git 仓库中").format(p=start)) from None
    return Path(out.decode().strip())


def resolve(root: Path, rev: str) -> str | None:
    """The commit id ``rev`` names, or None when it names no commit."""
    if not rev or rev.startswith("-"):
        return None
    try:
        out = _git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"], root
        )
    except GitError:
        return None
    return out.decode().strip() or None


def commit_of(root: Path, rev: str) -> str:
    sha = resolve(root, rev)
    if sha is None:
        raise GitError(_("未知的 git 版本 {rev!r}").format(rev=rev))
    return sha


def relative_paths(root: Path, paths: list[Path]) -> list[str]:
    """``paths`` (relative to the current directory) as paths inside the repository."""
    out = []
    real_root = root.resolve()
    for p in paths:
        full = (Path.cwd() / p).resolve() if not p.is_absolute() else p.resolve()
        try:
            rel = full.relative_to(real_root).as_posix()
        except ValueError:
            raise GitError(_("{p} 不在 git 仓库 {root} 中").format(p=p, root=root)) from None
        out.append(rel if rel != "." else "")
    return out


@dataclass(slots=True)
class Loaded:
    """One revision's repository, with what could not be read (never silently less)."""

    label: str
    repo: model.Repository
    findings: list[Finding]
    files: list[str]

    @property
    def load_errors(self) -> list[Finding]:
        from cgcloud.findings import Severity

        return [f for f in self.findings if f.severity is Severity.ERROR]


def _exists(root: Path, sha: str, rel: str) -> bool:
    if not rel:
        return True
    out = _git(["ls-tree", "--name-only", sha, "--", rel], root)
    return bool(out.strip())


@contextmanager
def checkout(root: Path, rev: str, rels: list[str]) -> Iterator[tuple[Path, list[Path]]]:
    """Export ``rels`` of ``rev`` into a temporary directory (``git archive``).

    Yields the directory and the export's paths for the ones that exist at ``rev``;
    a path absent at ``rev`` is an empty repository there (every form is "added")."""
    sha = commit_of(root, rev)
    present = [r for r in rels if _exists(root, sha, r)]
    with tempfile.TemporaryDirectory(prefix="cgcloud-rev-") as tmp:
        dest = Path(tmp)
        if present:
            data = _git(["archive", "--format=tar", sha, "--", *(r or "." for r in present)], root)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(dest, filter="data")
        yield dest, [dest / r if r else dest for r in present]


def load_revision(root: Path, rev: str, rels: list[str]) -> Loaded:
    """Load the policy repository at ``rev`` (only ``rels``), file names repository-relative."""
    from cgcloud import validate as pipeline

    with checkout(root, rev, rels) as (dest, paths):
        if not paths:
            return _empty(rev)
        repo, findings, files = pipeline.load_repository(paths)
        prefix = dest.resolve().as_posix() + "/"
        _rename(repo, findings, prefix)
        files = [f.removeprefix(prefix) for f in files]
        # The documents keep their bytes in memory: positions stay available after the
        # temporary directory is gone.
        return Loaded(rev, repo, [f for f in findings if f.rule != "CG007"], files)


def load_worktree(paths: list[Path]) -> Loaded:
    from cgcloud import validate as pipeline

    repo, findings, files = pipeline.load_repository(paths)
    return Loaded(_("工作区"), repo, findings, files)


def _empty(rev: str) -> Loaded:
    return Loaded(rev, model.Repository(), [], [])


def _rename(repo: model.Repository, findings: list[Finding], prefix: str) -> None:
    seen: set[int] = set()
    parts: list[object] = [*repo.forms, repo.zones, repo.high_risk_ports, repo.roster]
    for part in parts:
        at = getattr(part, "at", None)
        if at is None or id(at.doc.source) in seen:
            continue
        seen.add(id(at.doc.source))
        at.doc.source.display = at.doc.source.display.removeprefix(prefix)
    for f in findings:
        f.file = f.file.removeprefix(prefix)

"""One commit on a new branch without touching the work tree, the index or HEAD.

``recertify --write`` must not disturb what the user has checked out or staged, so
it builds the commit with git's plumbing on a temporary index: read-tree of the
base commit, hash-object + update-index for each new file, write-tree,
commit-tree, then ``git branch`` (which refuses to overwrite an existing branch).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from cgcloud.gitops.revisions import GIT_TIMEOUT, GitError, commit_of
from cgcloud.i18n import _


def _run(args: list[str], root: Path, env: dict[str, str], data: bytes | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            env=env,
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise GitError(_("git {args} 失败: {e}").format(args=" ".join(args), e=exc)) from None
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            _("git {args} 失败: {msg}").format(args=" ".join(args), msg=msg[-1] if msg else "")
        )
    return done.stdout.decode().strip()


def commit_files(root: Path, base: str, branch: str, files: dict[str, str], message: str) -> str:
    """Create ``branch`` at a new commit = ``base`` + ``files`` (repository-relative path →
    text). Returns the commit id. Fails (GitError) when the branch exists."""
    parent = commit_of(root, base)
    if _exists(root, branch):
        raise GitError(_("分支 {b} 已存在；换一个 --branch 名称，或先删除它").format(b=branch))
    with tempfile.TemporaryDirectory(prefix="cgcloud-index-") as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"), LC_ALL="C")
        _run(["read-tree", parent], root, env)
        for rel, text in sorted(files.items()):
            blob = _run(["hash-object", "-w", "--stdin"], root, env, text.encode("utf-8"))
            _run(["update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}"], root, env)
        tree = _run(["write-tree"], root, env)
        commit = _run(
            ["commit-tree", tree, "-p", parent, "-F", "-"], root, env, message.encode("utf-8")
        )
    _run(["branch", branch, commit], root, dict(os.environ))
    return commit


def _exists(root: Path, branch: str) -> bool:
    done = subprocess.run(
        ["git", "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=root,
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    return done.returncode == 0

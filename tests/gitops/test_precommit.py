"""The shipped .pre-commit-hooks.yaml, run by the real pre-commit in a temporary git repository.

pre-commit would install a ``language: python`` hook from its remote into a fresh
virtualenv (network). Here the same hook definitions run as ``repo: local`` with
``language: system`` and this interpreter, so the test needs no network; the
manifest itself is checked with pre-commit's own schema (``load_manifest``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.gitops.conftest import NP, ROOT, Repo, _env

pre_commit_clientlib = pytest.importorskip(
    "pre_commit.clientlib", reason="pre-commit is not installed (pip install -e '.[dev]')"
)


def manifest() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = pre_commit_clientlib.load_manifest(
        str(ROOT / ".pre-commit-hooks.yaml")
    )
    return hooks


def local_config(hooks: list[dict[str, Any]]) -> str:
    local = []
    for h in hooks:
        local.append(
            {
                "id": h["id"],
                "name": h["name"],
                "entry": f"{sys.executable} -m " + h["entry"],
                "args": h["args"],
                "language": "system",
                "files": h["files"],
                "pass_filenames": h["pass_filenames"],
                "require_serial": h["require_serial"],
            }
        )
    # JSON is YAML: no YAML writer needed
    return json.dumps({"repos": [{"repo": "local", "hooks": local}]}, ensure_ascii=False, indent=2)


def run(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    env = _env()
    env["PRE_COMMIT_HOME"] = str(repo.path.parent / "pre-commit-home")
    return subprocess.run(
        args, cwd=repo.path, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_manifest_offers_validate_and_approvals() -> None:
    ids = {h["id"]: h for h in manifest()}
    assert set(ids) == {"cgcloud-validate", "cgcloud-approvals"}
    assert ids["cgcloud-validate"]["entry"] == "cgcloud validate"
    assert "--base HEAD" in ids["cgcloud-approvals"]["entry"]


def test_hooks_block_a_bad_commit_and_pass_a_good_one(repo: Repo) -> None:
    (repo.path / ".pre-commit-config.yaml").write_text(local_config(manifest()), encoding="utf-8")
    repo.commit("pre-commit 配置")
    installed = run(repo, sys.executable, "-m", "pre_commit", "install")
    assert installed.returncode == 0, installed.stderr
    # a form mistake: a source that is not in its zone
    repo.replace(
        NP, "source: 172.20.4.11-12, to: 政务外网区", "source: 172.22.4.11-12, to: 政务外网区"
    )
    repo.git("add", "-A")
    refused = run(repo, "git", "commit", "-m", "写错地址")
    assert refused.returncode != 0
    assert "CG104" in refused.stdout + refused.stderr
    # fixed, but the content change keeps 审核人1's old signature: CG405
    repo.replace(
        NP, "source: 172.22.4.11-12, to: 政务外网区", "source: 172.20.4.11, to: 政务外网区"
    )
    repo.git("add", "-A")
    copied = run(repo, "git", "commit", "-m", "收窄源地址，签字照抄")
    assert copied.returncode != 0 and "CG405" in copied.stdout + copied.stderr
    repo.replace(
        NP,
        "cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
        "cloud_resource_manager: {by: 钱七, date: 2026-11-27}",
    )
    repo.git("add", "-A")
    accepted = run(repo, "git", "commit", "-m", "审核人1 重新签字")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Passed" in accepted.stdout + accepted.stderr
    assert os.path.exists(repo.path / ".git/hooks/pre-commit")


def test_hook_skips_commits_without_policy_files(repo: Repo) -> None:
    (repo.path / ".pre-commit-config.yaml").write_text(local_config(manifest()), encoding="utf-8")
    repo.commit("pre-commit 配置")
    (repo.path / "README.txt").write_text("说明\n", encoding="utf-8")
    repo.git("add", "README.txt")
    done = run(repo, sys.executable, "-m", "pre_commit", "run")
    assert done.returncode == 0
    assert "no files to check" in done.stdout.lower() or "Skipped" in done.stdout

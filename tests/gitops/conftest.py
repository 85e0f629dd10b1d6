"""A real git repository holding a copy of the shipped example policies, with fixed dates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NP = "policies/智慧城管综合平台/network-policy.yaml"
RA = "policies/智慧城管综合平台/resource-application.yaml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        GIT_AUTHOR_NAME="测试",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="测试",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        GIT_AUTHOR_DATE="2026-11-30T10:00:00+08:00",
        GIT_COMMITTER_DATE="2026-11-30T10:00:00+08:00",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=env.get("CGCLOUD_TEST_HOME", env.get("HOME", "/tmp")),
    )
    return env


@dataclass
class Repo:
    path: Path

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def cgcloud(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cgcloud", *args],
            cwd=self.path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def edit(self, rel: str, change: Callable[[str], str]) -> None:
        p = self.path / rel
        before = p.read_text(encoding="utf-8")
        after = change(before)
        assert after != before, f"edit of {rel} changed nothing"
        p.write_text(after, encoding="utf-8")

    def replace(self, rel: str, old: str, new: str) -> None:
        def change(text: str) -> str:
            assert old in text, old
            return text.replace(old, new)

        self.edit(rel, change)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    r = Repo(tmp_path / "policy-repo")
    r.path.mkdir()
    r.git("init", "-q", "-b", "main")
    shutil.copytree(ROOT / "policies", r.path / "policies")
    r.commit("基准：示例表单")
    r.git("checkout", "-q", "-b", "change")
    return r

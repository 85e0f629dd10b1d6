"""Helpers shared by the rule tests: write a small policy repository, validate it, look.

Usage in a test::

    def test_x(policy_repo):
        policy_repo.write("network.yaml", '''
            apiVersion: cgcloud/v1
            ...''')
        found = policy_repo.findings("CG102")
        assert [f.line for f in found] == [policy_repo.line("network.yaml", "to: 专线网络")]

The repository starts with copies of the shipped site files (``zones.yaml`` and
``high-risk-ports.yaml`` from ``policies/``); writing a file of the same name
replaces the copy. Texts are dedented, so they can be indented in the test.
Everything is validated at ``NOW`` unless ``now=`` is given.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from cgcloud import clock
from cgcloud.findings import Finding
from cgcloud.schemas import data_dir
from cgcloud.validate import validate

NOW = "2026-11-25T10:00"
SITE_FILES = ("zones.yaml", "high-risk-ports.yaml")


class PolicyRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        policies = data_dir("policies")
        for name in SITE_FILES:
            shutil.copy(policies / name, root / name)

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``name`` under the repository; return the path."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def remove(self, name: str) -> None:
        (self.root / name).unlink()

    def line(self, name: str, needle: str, nth: int = 1) -> int:
        """1-based line of the ``nth`` line of ``name`` that contains ``needle``."""
        seen = 0
        for number, text in enumerate((self.root / name).read_text("utf-8").splitlines(), 1):
            if needle in text:
                seen += 1
                if seen == nth:
                    return number
        raise AssertionError(f"{needle!r} not found {nth} time(s) in {name}")

    def validate(self, now: str = NOW) -> list[Finding]:
        return validate([self.root], now=clock.now_local(now)).findings

    def findings(self, rule: str | None = None, now: str = NOW) -> list[Finding]:
        """The findings of ``rule`` (all findings when None)."""
        return [f for f in self.validate(now) if rule is None or f.rule == rule]


@pytest.fixture
def policy_repo(tmp_path: Path) -> PolicyRepo:
    return PolicyRepo(tmp_path)

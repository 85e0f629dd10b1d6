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

    def policy(self, rules: list[str], name: str = "network.yaml", **kw: object) -> Path:
        """Write a NetworkPolicy (see ``network_policy``) to ``name``."""
        return self.write(name, network_policy(rules, **kw))  # type: ignore[arg-type]

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


# --------------------------------------------------------------------------- NetworkPolicy text

DEFAULT = object()
NORMAL = """
normal:
  reason: 平台对外提供服务
  period: {start: 2026-12-01, end: 2027-11-30}
"""
HIGH_RISK = """
high_risk:
  reason: 数据迁移期间临时开放数据库端口
  period: {start: 2026-12-01, end: 2026-12-31}
"""
REVIEWERS = """
reviewers:
  cloud_resource_manager: {by: 钱七, date: 2026-11-20}
  business_leader: {by: 王五, date: 2026-11-21}
  cloud_resource_leader: {by: 吴十, date: 2026-11-22}
"""


def network_policy(
    rules: list[str],
    *,
    id: str = "WL-2026-0031",
    system: str = "智慧城管综合平台",
    normal: str | None | object = DEFAULT,
    high_risk: str | None | object = DEFAULT,
    reviewers: str | None | object = DEFAULT,
) -> str:
    """A NetworkPolicy document whose sections are the defaults above unless given
    (None leaves a section out). ``rules`` are flow-style rows, one per line, e.g.
    ``{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}``."""

    def section(value: str | None | object, default: str) -> str:
        if value is None:
            return ""
        text = default if value is DEFAULT else str(value)
        return textwrap.indent(textwrap.dedent(text).strip("\n"), "  ") + "\n"

    rows = "".join(f"    - {r}\n" for r in rules)
    return (
        "apiVersion: cgcloud/v1\n"
        "kind: NetworkPolicy\n"
        f"metadata: {{id: {id}, system: {system}}}\n"
        "spec:\n"
        '  applicant: {org: 某某科技有限公司, name: 周九, phone: "13900000000"}\n'
        + section(normal, NORMAL)
        + section(high_risk, HIGH_RISK)
        + section(reviewers, REVIEWERS)
        + "  rules:\n"
        + rows
    )


@pytest.fixture
def policy_repo(tmp_path: Path) -> PolicyRepo:
    return PolicyRepo(tmp_path)

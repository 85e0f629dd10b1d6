"""ShutdownNotice ``commands`` (第十五条 系统关闭、数据拷贝): the form side."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cgcloud import clock
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[3] / "policies"
NOTICE = Path("旧版数字城管系统") / "shutdown-notice.yaml"


def with_commands(tmp_path: Path, commands: str) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    f = root / NOTICE
    f.write_text(
        f.read_text("utf-8").replace("  operator:", f"  commands: {commands}\n  operator:"), "utf-8"
    )
    return root


def findings(root: Path) -> list[tuple[str, str, int]]:
    v = validate([root], clock.now_local("2026-12-01"))
    return [(f.rule, f.message, f.line) for f in v.findings if f.severity.value == "error"]


def test_commands_are_read_into_the_model(tmp_path: Path) -> None:
    root = with_commands(tmp_path, "{login: lisi, shutdown: systemctl stop app}")
    v = validate([root], clock.now_local("2026-12-01"))
    assert [f for f in v.findings if f.severity.value == "error"] == []
    (notice,) = v.repo.shutdowns
    assert notice.commands == {"login": "lisi", "shutdown": "systemctl stop app"}


@pytest.mark.parametrize(
    ("commands", "words"),
    [
        ("{shutdown: systemctl stop app}", "login"),
        ("{login: lisi}", "shutdown"),
        ("{login: 李四, shutdown: x}", "login"),
        ("{login: lisi, shutdown: x, reboot: y}", "reboot"),
    ],
    ids=["no-login", "no-command", "login-not-unix", "unknown-key"],
)
def test_bad_commands_are_schema_errors_at_the_line(
    tmp_path: Path, commands: str, words: str
) -> None:
    root = with_commands(tmp_path, commands)
    found = findings(root)
    line = next(
        i
        for i, t in enumerate((root / NOTICE).read_text("utf-8").splitlines(), 1)
        if "commands:" in t
    )
    assert found and all(r.startswith("CG01") for r, _, _ in found)  # schema findings
    assert any(words in m and ln == line for _, m, ln in found), found

"""The `cgcloud` command as a user runs it: exit codes, formats, help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgcloud import __version__
from cgcloud.cli import app
from cgcloud.rules import REGISTRY
from cgcloud.schemas import KINDS, data_dir

runner = CliRunner()
POLICIES = data_dir("policies")
NOW = "2026-11-25T10:00"


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_version() -> None:
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.output


def test_help_teaches() -> None:
    r = run("validate", "--help")
    assert r.exit_code == 0
    for word in ("--now", "--format", "退出码", "sarif"):
        assert word in r.output


def test_shipped_policies_validate_clean() -> None:
    r = run("validate", str(POLICIES), "--now", NOW)
    assert r.exit_code == 0, r.output
    assert " error " not in r.output


def test_shipped_policies_validate_clean_today() -> None:
    """The README's first command, with the real clock."""
    r = run("validate", str(POLICIES))
    assert r.exit_code == 0, r.output


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    shutil.copytree(POLICIES, tmp_path / "policies")
    plan = next((tmp_path / "policies").rglob("annual-plan.yaml"))
    text = plan.read_text("utf-8")
    plan.write_text(text.replace("kind: AnnualPlan", "kind: AnnualPlann"), "utf-8")
    return plan


def test_errors_exit_1_with_file_line(broken_repo: Path) -> None:
    r = run("validate", str(broken_repo.parent.parent), "--now", NOW)
    assert r.exit_code == 1
    line = next(
        n for n, t in enumerate(broken_repo.read_text("utf-8").splitlines(), 1) if "kind:" in t
    )
    assert f"annual-plan.yaml:{line}:" in r.output
    assert "error CG010" in r.output


def test_json_format(broken_repo: Path) -> None:
    r = run("validate", str(broken_repo.parent.parent), "--now", NOW, "--format", "json")
    data = json.loads(r.output)
    assert data["summary"]["error"] >= 1
    assert any(f["rule"] == "CG010" for f in data["findings"])


def test_missing_path_is_usage_error(tmp_path: Path) -> None:
    r = run("validate", str(tmp_path / "nope"))
    assert r.exit_code == 64


def test_bad_now_is_usage_error() -> None:
    r = run("validate", str(POLICIES), "--now", "next tuesday")
    assert r.exit_code == 64


def test_unknown_format_is_usage_error() -> None:
    r = run("validate", str(POLICIES), "--format", "xml")
    assert r.exit_code == 64


def test_schema_prints_each_kind() -> None:
    for kind in KINDS:
        r = run("schema", kind)
        assert r.exit_code == 0
        assert json.loads(r.output)["properties"]["kind"]["const"] == kind
    assert run("schema", "Nope").exit_code == 64


def test_rules_lists_every_registered_rule() -> None:
    r = run("rules")
    assert r.exit_code == 0
    for rule_id in REGISTRY:
        assert rule_id in r.output


def test_installed_entry_point_runs() -> None:
    exe = shutil.which("cgcloud") or ""
    cmd = [exe] if exe else [sys.executable, "-m", "cgcloud"]
    out = subprocess.run(
        [*cmd, "validate", str(POLICIES), "--now", NOW], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 个错误" in out.stdout

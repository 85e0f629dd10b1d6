"""`cgcloud plan`/`apply` without a cloud: registration, validation gate, cloud errors."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from cgcloud.cli import app

POLICIES = Path(__file__).resolve().parents[3] / "policies"
runner = CliRunner()


def test_commands_are_registered() -> None:
    out = runner.invoke(app, ["--help"]).output
    assert "plan" in out and "apply" in out
    assert "--max-deletes" in runner.invoke(app, ["apply", "--help"]).output
    assert "--detailed-exitcode" in runner.invoke(app, ["plan", "--help"]).output


def test_plan_refuses_an_invalid_repository(tmp_path: Path) -> None:
    repo = tmp_path / "policies"
    shutil.copytree(POLICIES, repo)
    np = repo / "智慧城管综合平台" / "network-policy.yaml"
    np.write_text(
        np.read_text(encoding="utf-8").replace(
            "port: TCP443, note: 市民访问门户", "port: TCPXYZ, note: 市民访问门户"
        ),
        encoding="utf-8",
    )
    for cmd in ("plan", "apply"):
        r = runner.invoke(app, [cmd, str(repo), "--cloud", "nowhere", "--now", "2027-01-15"])
        assert r.exit_code == 1
        assert "拒绝" in r.output


def test_unknown_cloud_is_an_error_without_secrets(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    r = runner.invoke(
        app, ["plan", str(POLICIES), "--cloud", "no-such-cloud", "--now", "2027-01-15"]
    )
    assert r.exit_code == 1
    assert "no-such-cloud" in r.output


def test_missing_cloud_name(monkeypatch) -> None:
    monkeypatch.delenv("OS_CLOUD", raising=False)
    r = runner.invoke(app, ["plan", str(POLICIES), "--now", "2027-01-15"])
    assert r.exit_code == 64 and "--cloud" in r.output

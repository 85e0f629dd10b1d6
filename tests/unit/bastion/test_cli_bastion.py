"""The bastion commands' refusals that need no SSH server: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgcloud.cli import app

POLICIES = str(Path(__file__).resolve().parents[3] / "policies")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "bastions.yaml"
    cfg.write_text("bastions: []\n")
    return {"CGCLOUD_BASTIONS": str(cfg), "CGCLOUD_AUDIT_LOG": str(tmp_path / "audit.jsonl")}


def run(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env=env)


def test_plan_without_connection_settings_names_the_bastion(env: dict[str, str]) -> None:
    r = run(env, "bastion", "plan", POLICIES, "--now", "2027-01-05")
    assert r.exit_code == 1
    assert "没有堡垒机 172.21.0.10 的连接配置" in r.output


def test_plan_outside_any_window_has_nothing_to_connect(env: dict[str, str]) -> None:
    r = run(env, "bastion", "plan", POLICIES, "--now", "2026-12-20", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "0 个新增" in r.output and "未配置连接" in r.output


def test_ssh_refused_before_connecting_is_audited(env: dict[str, str]) -> None:
    r = run(env, "ssh", "--as", "lisi", "--policies", POLICIES, "172.21.4.23", "--", "true")
    assert r.exit_code == 1 and "172.21.4.23" in r.output
    log = Path(env["CGCLOUD_AUDIT_LOG"]).read_text("utf-8")
    assert '"result": "refused"' in log and '"login": "lisi"' in log


@pytest.mark.parametrize(
    "args",
    [
        ["tunnel", "172.21.4.21", "3389", "--local", "0.0.0.0:13389"],
        ["ssh", "web-1", "--", "true"],
        ["bastion", "plan", "/nonexistent/policies"],
    ],
    ids=["tunnel-not-loopback", "ssh-host-not-address", "missing-path"],
)
def test_usage_errors_exit_64(env: dict[str, str], args: list[str]) -> None:
    r = run(env, *args)
    assert r.exit_code == 64, r.output
    assert "Traceback" not in r.output


def test_plan_json_lists_accounts_grants_and_the_error(env: dict[str, str]) -> None:
    import json

    r = run(env, "bastion", "plan", POLICIES, "--now", "2027-01-05", "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    gov = next(b for b in data["bastions"] if b["address"] == "172.21.0.10")
    assert "连接配置" in gov["error"]
    lisi = next(a for a in gov["accounts"] if a["login"] == "lisi")
    assert lisi["expiry"] == "2027-02-01T00:00:00+08:00"
    assert [g["target"] for g in lisi["grants"]] == ["172.21.4.21:22", "172.21.4.22:22"]
    assert lisi["keys"][0].startswith("SHA256:")

"""The Pulumi engine where no Pulumi CLI is installed — this machine (docs/pulumi.md).

What can be real here is real: the command line as users run it (a subprocess of
``python -m cgcloud`` with a PATH holding no ``pulumi``), Pulumi's own Automation API
failing for want of its CLI, and the engine's delegation to the in-memory reference
engine. A real preview/up is in tests/integration/test_pulumi_automation.py, which
runs where ``shutil.which("pulumi")`` finds the CLI and skips here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cgcloud import desired
from cgcloud.enforce import Action
from cgcloud.engines.base import (
    Engine,
    EngineError,
    EngineUnavailable,
    LockHeld,
    Previewing,
)
from cgcloud.engines.memory import MemoryEngine
from cgcloud.engines.pulumi.engine import PulumiEngine
from cgcloud.engines.pulumi.workspace import Settings
from cgcloud.exitcodes import ExitCode
from cgcloud.validate import load_repository

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
NOW = "2027-01-15T10:00"
ON_PATH = "/usr/local/bin/pulumi"


def _which(_name: str) -> str | None:
    return ON_PATH


def _run(args: list[str], tmp: Path, lang: str = "zh") -> subprocess.CompletedProcess[str]:
    empty = tmp / "bin"
    empty.mkdir(exist_ok=True)
    env = {
        "PATH": str(empty),  # no pulumi here, whatever the machine has
        "HOME": str(tmp),
        "PYTHONPATH": str(ROOT),
        "CGCLOUD_LANG": lang,
        "CGCLOUD_PULUMI_DIR": str(tmp / "pulumi"),
        "CGCLOUD_AUDIT_LOG": str(tmp / "audit.jsonl"),
        "PULUMI_CONFIG_PASSPHRASE": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["plan", "--engine", "pulumi", "--stack", "dev", "policies/"],
        ["plan", "--engine", "pulumi", "--stack", "dev", "policies/", "--detailed-exitcode"],
        ["apply", "--engine", "pulumi", "--stack", "dev", "policies/", "--yes"],
        ["enforce", "--engine", "pulumi", "--stack", "dev", "policies/"],
    ],
)
def test_without_the_pulumi_cli_the_command_says_what_to_install_and_changes_nothing(
    command: list[str], tmp_path: Path
) -> None:
    r = _run([*command, "--cloud", "devcloud", "--now", NOW], tmp_path)
    assert r.returncode == ExitCode.FAILURE, r.stderr
    assert "未找到 Pulumi 命令行工具 pulumi" in r.stderr
    assert "安装 Pulumi CLI" in r.stderr and "pulumi.com/docs/install" in r.stderr
    assert "未做任何变更" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    # nothing was written: no Pulumi workspace or state, no audit line
    assert not (tmp_path / "pulumi").exists() and not (tmp_path / "audit.jsonl").exists()


def test_the_message_is_catalogued_in_english(tmp_path: Path) -> None:
    r = _run(["plan", "--engine", "pulumi", "--cloud", "devcloud", "policies/"], tmp_path, "en")
    assert r.returncode == ExitCode.FAILURE, r.stderr
    assert "Pulumi CLI" in r.stderr and "install" in r.stderr.lower()
    assert "未找到" not in r.stderr and "Traceback" not in r.stderr


def test_stack_and_backend_belong_to_the_pulumi_engine(tmp_path: Path) -> None:
    r = _run(["plan", "--stack", "dev", "--cloud", "devcloud", "policies/"], tmp_path)
    assert r.returncode == ExitCode.USAGE and "--engine pulumi" in r.stderr


# --------------------------------------------------------------------------- settings


def test_settings_refuse_without_the_cli() -> None:
    with pytest.raises(EngineUnavailable, match="Pulumi CLI"):
        Settings.resolve("dev", environ={"PULUMI_CONFIG_PASSPHRASE": ""}, which=lambda _: None)


def test_a_local_backend_needs_pulumis_passphrase_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CGCLOUD_PULUMI_DIR", "/srv/cg/pulumi")
    with pytest.raises(EngineUnavailable, match="PULUMI_CONFIG_PASSPHRASE"):
        Settings.resolve("dev", environ={}, which=_which)
    s = Settings.resolve("dev", environ={"PULUMI_CONFIG_PASSPHRASE_FILE": "/k"}, which=_which)
    assert s.backend == "file:///srv/cg/pulumi/state" and s.stack == "dev"
    assert s.work_dir == Path("/srv/cg/pulumi/project") and s.command == ON_PATH
    assert s.env()["PULUMI_BACKEND_URL"] == s.backend


def test_backend_flag_over_pulumis_variable_over_the_default() -> None:
    env = {"PULUMI_BACKEND_URL": "s3://team-state", "PULUMI_CONFIG_PASSPHRASE": "x"}
    assert Settings.resolve("dev", environ=env, which=_which).backend == "s3://team-state"
    flag = Settings.resolve("dev", "gs://other", environ=env, which=_which)
    assert flag.backend == "gs://other"


# --------------------------------------------------------------------------- the engine


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PulumiEngine:
    monkeypatch.setenv("PATH", str(tmp_path))  # the Automation API finds no pulumi
    settings = Settings("dev", (tmp_path / "state").as_uri(), tmp_path / "ws", "pulumi")
    return PulumiEngine(
        "m", audit_path=tmp_path / "audit.jsonl", reader=MemoryEngine("m"), settings=settings
    )


def _state() -> desired.DesiredState:
    from cgcloud import clock

    repo, _, _ = load_repository([POLICIES])
    return desired.compile(repo, clock.now_local(NOW))


def test_it_is_an_engine_with_a_planner_of_its_own(engine: PulumiEngine) -> None:
    typed: Engine = engine  # mypy checks the Protocol here
    planner: Previewing = engine
    assert isinstance(typed, Engine) and isinstance(planner, Previewing)
    assert engine.name == "pulumi" and engine.cloud == "m"


def test_reads_and_leases_are_the_reader_engines(engine: PulumiEngine) -> None:
    assert engine.read(_state()).projects == [] and engine.read_projects() == []
    engine.acquire_lock(owner="a")
    holder = engine.lock_holder()
    assert holder is not None and holder.owner == "a"
    other = PulumiEngine("m", reader=engine.reader, settings=engine.settings)
    with pytest.raises(LockHeld):
        other.acquire_lock(owner="b")
    engine.release_lock()
    assert engine.lock_holder() is None
    assert engine.record_fingerprints([]) == []


def test_the_reclaim_of_stack_owned_groups_is_refused_clearly(engine: PulumiEngine) -> None:
    action = Action("reclaim", "旧版数字城管系统", "GT-2027-0002", "回收")
    with pytest.raises(EngineError, match="不执行回收.*GT-2027-0002.*pulumi up"):
        engine.decommission(action, datetime.now(UTC) + timedelta(days=1))


def test_pulumis_automation_api_without_its_cli_is_a_clear_engine_error(
    engine: PulumiEngine, tmp_path: Path
) -> None:
    state = _state()
    with pytest.raises(EngineUnavailable, match="Pulumi CLI"):
        engine.preview(state, engine.read(state))
    assert not (tmp_path / "audit.jsonl").exists()
    assert "pulumi" not in os.listdir(tmp_path)


def test_the_automation_apis_errors_become_cgclouds(engine: PulumiEngine) -> None:
    """Classified by the SDK itself (``create_command_error`` over the CLI's output)."""
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import create_command_error

    locked = create_command_error(
        CommandResult("", "error: the stack is currently locked by 1 lock(s): …", 255)
    )
    assert isinstance(engine._error("up", locked, []), LockHeld)
    failed = create_command_error(CommandResult("Updating (dev)\n", "error: update failed\n", 255))
    err = engine._error("up", failed, [])
    assert type(err) is EngineError and "Pulumi up" in str(err) and "update failed" in str(err)
    assert "dev" in str(err)  # the stack is named
    gone = engine._error("preview", FileNotFoundError(2, "No such file", "pulumi"), [])
    assert isinstance(gone, EngineUnavailable) and "Pulumi CLI" in str(gone)


# --------------------------------------------------------------------------- the CLI's dispatch


class AnnouncingMemory(MemoryEngine):
    """The in-memory engine with a planner of its own that announces what a Pulumi
    preview would (SDK events): the CLI's dispatch to ``preview`` is pure logic."""

    announced: list[Any] = []

    def preview(self, state: desired.DesiredState, actual: Any) -> Any:
        from cgcloud.engines.pulumi import translate

        return translate.plan_of(self.announced, {}, now=state.now, cloud=self.cloud)


def _announce(op: str) -> Any:
    from pulumi.automation.events import EngineEvent

    urn = "urn:pulumi:m::cgcloud::openstack:networking/secGroupRule:SecGroupRule::rule-k-1"
    meta = {"op": op, "urn": urn, "type": "openstack:networking/secGroupRule:SecGroupRule"}
    return EngineEvent.from_json(
        {"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": meta}}
    )


@pytest.mark.parametrize(("ops", "code"), [(["delete"], 2), (["same"], 0)])
def test_plan_shows_the_engines_own_preview_with_the_detailed_exit_code(
    ops: list[str], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from cgcloud import engines
    from cgcloud.cli import app

    monkeypatch.setitem(engines.REGISTRY, "announcing", f"{__name__}:AnnouncingMemory")
    monkeypatch.setattr(AnnouncingMemory, "announced", [_announce(op) for op in ops])
    args = ["plan", str(POLICIES), "--engine", "announcing", "--cloud", "m", "--now", NOW]
    r = CliRunner().invoke(app, [*args, "--detailed-exitcode", "--format", "json"])
    assert r.exit_code == code, r.output
    plan = json.loads(r.stdout)
    # the engine's announcement, not cgcloud's diff (which would create the whole repository)
    assert plan["summary"]["create"] == 0 and plan["summary"]["delete"] == ops.count("delete")

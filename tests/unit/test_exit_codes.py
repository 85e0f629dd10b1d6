"""One exit-code table for every command (cgcloud/exitcodes.py, README, docs/reliability.md §7).

The command list is read from the typer app, so a command added later is covered
by the usage-error tests without anyone remembering to add it here.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cgcloud.cli import app
from cgcloud.exitcodes import ExitCode
from cgcloud.schemas import data_dir

REPO = Path(__file__).resolve().parents[2]
POLICIES = data_dir("policies")
NOW = "2026-11-25T10:00"
runner = CliRunner()


def leaf_commands() -> list[tuple[tuple[str, ...], typer.core.TyperCommand]]:
    """Every runnable command path of the app, e.g. ("devcloud", "up")."""
    out = []

    def walk(group: object, path: tuple[str, ...]) -> None:
        for name, cmd in sorted(group.commands.items()):  # type: ignore[attr-defined]
            if hasattr(cmd, "commands"):
                walk(cmd, (*path, name))
            else:
                out.append(((*path, name), cmd))

    walk(typer.main.get_command(app), ())
    return out


COMMANDS = leaf_commands()
IDS = [" ".join(p) for p, _ in COMMANDS]


def _params(cmd: object) -> set[str]:
    return {p.name for p in cmd.params}  # type: ignore[attr-defined]


# options a command requires besides paths, so a test reaches the check it means
REQUIRED = {"prometheus": ["--prometheus", "http://127.0.0.1:9"], "period": ["--period", "2027-01"]}


def _cloud_args(cmd: object) -> list[str]:
    args = ["--cloud", "no-such-cloud"] if "cloud" in _params(cmd) else []
    for name, value in REQUIRED.items():
        if name in _params(cmd):
            args += value
    return args


@pytest.fixture(autouse=True)
def _no_real_clouds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test here may reach a cloud a developer configured."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "no-clouds.yaml"))
    monkeypatch.delenv("OS_CLOUD", raising=False)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_the_app_has_the_commands_the_table_covers() -> None:
    names = set(IDS)
    for expected in (
        "validate",
        "explain",
        "rules",
        "schema",
        "plan",
        "apply",
        "enforce",
        "upcoming",
        "exporter",
        "devcloud up",
        "devcloud status",
    ):
        assert expected in names


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_dash_h_is_help(path: tuple[str, ...], cmd: object) -> None:
    short, long = invoke(*path, "-h"), invoke(*path, "--help")
    assert short.exit_code == ExitCode.OK, short.output
    assert "用法：" in short.output and "-h, --help" in short.output
    assert short.output == long.output


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=IDS)
def test_unknown_option_is_a_usage_error(path: tuple[str, ...], cmd: object) -> None:
    r = invoke(*path, "--bogus-flag")
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "用法错误: 没有选项 --bogus-flag" in r.output
    assert f" {' '.join(path)} -h' 查看用法" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


@pytest.mark.parametrize(
    ("path", "cmd"),
    [c for c in COMMANDS if "now" in _params(c[1])],
    ids=[i for i, c in zip(IDS, COMMANDS, strict=True) if "now" in _params(c[1])],
)
def test_bad_now_is_a_usage_error(path: tuple[str, ...], cmd: object) -> None:
    r = invoke(*path, str(POLICIES), *_cloud_args(cmd), "--now", "next tuesday")
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "next tuesday" in r.output and "ISO 8601" in r.output


@pytest.mark.parametrize(
    ("path", "cmd"),
    [c for c in COMMANDS if "paths" in _params(c[1])],
    ids=[i for i, c in zip(IDS, COMMANDS, strict=True) if "paths" in _params(c[1])],
)
def test_missing_path_is_a_usage_error(path: tuple[str, ...], cmd: object, tmp_path: Path) -> None:
    """Before any cloud is contacted: the answer must not depend on the cloud."""
    missing = tmp_path / "nope"
    now = ["--now", NOW] if "now" in _params(cmd) else []
    r = invoke(*path, str(missing), *_cloud_args(cmd), *now)
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "路径不存在" in r.output and str(missing) in r.output


def test_no_command_prints_help_and_is_a_usage_error() -> None:
    r = invoke()
    assert r.exit_code == ExitCode.USAGE
    assert "用法：" in r.output and "validate" in r.output


def test_unknown_command_is_a_usage_error() -> None:
    r = invoke("valdate")
    assert r.exit_code == ExitCode.USAGE
    assert "用法错误" in r.output


def test_bad_option_value_is_a_usage_error() -> None:
    r = invoke("upcoming", str(POLICIES), "--days", "many")
    assert r.exit_code == ExitCode.USAGE
    assert "用法错误" in r.output and "--days" in r.output


# --------------------------------------------------------------------- --detailed-exitcode


@pytest.fixture
def invalid_repo(tmp_path: Path) -> Path:
    import shutil

    repo = tmp_path / "policies"
    shutil.copytree(POLICIES, repo)
    plan = next(repo.rglob("annual-plan.yaml"))
    plan.write_text(
        plan.read_text("utf-8").replace("kind: AnnualPlan", "kind: AnnualPlann"), "utf-8"
    )
    return repo


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clouds_yaml(tmp_path: Path, auth_url: str) -> Path:
    f = tmp_path / "clouds.yaml"
    f.write_text(
        "clouds:\n  t:\n    auth:\n"
        f"      auth_url: {auth_url}\n"
        "      username: u\n      password: pw-never-shown\n      project_name: p\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n"
        "    region_name: RegionOne\n    identity_api_version: 3\n",
        "utf-8",
    )
    return f


def test_detailed_exitcode_is_never_2_for_an_error(
    invalid_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 means "changes present"; every way plan can fail must say something else."""
    monkeypatch.setenv(
        "OS_CLIENT_CONFIG_FILE",
        str(_clouds_yaml(tmp_path, f"http://127.0.0.1:{_closed_port()}/v3")),
    )
    plan = ("plan", "--detailed-exitcode", "--now", NOW)
    cases = {
        "unknown option": ([*plan, "--bogus-flag", str(POLICIES)], ExitCode.USAGE),
        "bad --now": (
            ["plan", "--detailed-exitcode", str(POLICIES), "--cloud", "t", "--now", "soon"],
            ExitCode.USAGE,
        ),
        "missing path": ([*plan, str(tmp_path / "nope"), "--cloud", "t"], ExitCode.USAGE),
        "no cloud named": ([*plan, str(POLICIES)], ExitCode.USAGE),
        "invalid forms": ([*plan, str(invalid_repo), "--cloud", "t"], ExitCode.FAILURE),
        "unknown cloud": ([*plan, str(POLICIES), "--cloud", "nowhere"], ExitCode.FAILURE),
        "cloud refuses connections": ([*plan, str(POLICIES), "--cloud", "t"], ExitCode.FAILURE),
    }
    for what, (args, code) in cases.items():
        r = invoke(*args)
        assert r.exit_code == code, f"{what}: {r.exit_code}\n{r.output}"
        assert r.exit_code != ExitCode.CHANGES
        assert "pw-never-shown" not in r.output


# --------------------------------------------------------------------- the table itself


def test_the_table_is_the_documented_one() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "FAILURE": 1,
        "CHANGES": 2,
        "DELETE_GUARD": 3,
        "LOCKED": 4,
        "DECLINED": 5,
        "USAGE": 64,
        "INTERRUPTED": 130,
    }
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("## 退出码") :]
    for code in ExitCode:
        assert re.search(rf"^\| `?{int(code)}`? \|", table, re.MULTILINE), code


def test_no_command_module_uses_a_bare_exit_number() -> None:
    """Exit codes come from the enum: a literal would drift from the table."""
    bare = re.compile(r"(?:Exit|_exit|sys\.exit)\(\s*\d")
    for f in [*(REPO / "cgcloud").glob("cli*.py"), REPO / "cgcloud" / "devcloud" / "cli.py"]:
        for n, line in enumerate(f.read_text("utf-8").splitlines(), 1):
            assert not bare.search(line), f"{f.name}:{n}: {line.strip()}"


# --------------------------------------------------------------------- Ctrl-C


class BlackHole:
    """A TCP endpoint on 127.0.0.1 that accepts and never answers (a hung cloud)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


def test_ctrl_c_is_130_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    """A real process, blocked on a cloud that never answers, gets SIGINT."""
    hole = BlackHole()
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "OS_CLIENT_CONFIG_FILE": str(
                _clouds_yaml(tmp_path, f"http://127.0.0.1:{hole.port}/v3")
            ),
        }
        # As from a terminal: a process started in the background (nohup, `&`, some CI
        # runners) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
        as_from_a_terminal = (
            "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
            " sys.argv[0] = 'cgcloud'; runpy.run_module('cgcloud', run_name='__main__')"
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                as_from_a_terminal,
                "plan",
                str(POLICIES),
                "--cloud",
                "t",
                "--now",
                NOW,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # a loaded 2-core machine may take long to import openstacksdk: a generous bound
            assert hole.accepted.wait(120), "plan never connected to the endpoint"
            time.sleep(0.5)  # inside the blocking read, not between calls
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        hole.close()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "已中断（Ctrl-C）"
    assert len(err.strip().splitlines()) == 1, err


def test_a_prompt_answered_no_or_at_end_of_input_is_declined() -> None:
    """click ends both with Abort; the table calls that "declined" (5), not 1."""
    from cgcloud.cli.runtime import CgcloudGroup

    mini = typer.Typer(cls=CgcloudGroup)

    @mini.command()
    def ask() -> None:
        typer.confirm("继续?", abort=True)

    @mini.command()
    def other() -> None:  # two commands keep it a group, as cgcloud is
        pass

    for answer in ("n\n", ""):
        r = runner.invoke(mini, ["ask"], input=answer)
        assert r.exit_code == ExitCode.DECLINED, (answer, r.output)
        assert "已取消" in r.output

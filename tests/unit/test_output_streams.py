"""Output never crashes on encoding or a closed pipe (docs/reliability.md §8a).

Real processes with real descriptors: an ASCII or Latin-1 stdout, the C locale
without UTF-8 mode, a pipe whose reader is already gone, a closed stdout. Every
command of the app runs under each; the list of commands comes from the app, so
a new command must get a case here (the first test fails until it does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_exit_codes import IDS  # the command list, read from the app

from cgcloud.exitcodes import ExitCode
from cgcloud.schemas import data_dir

REPO = Path(__file__).resolve().parents[2]
POLICIES = str(data_dir("policies"))
NOW = "2026-11-25T10:00"
CONDITIONS = ("ascii", "latin-1", "C-locale", "reader-gone", "stdout-closed")
# Each command: arguments that run without a cloud and print Chinese, and its exit code.
CASES: dict[str, tuple[list[str], int]] = {
    "validate": (["validate", "{broken}", "--now", NOW], ExitCode.FAILURE),
    "explain": (["explain", POLICIES, "--now", NOW], ExitCode.OK),
    "rules": (["rules"], ExitCode.OK),
    "schema": (["schema"], ExitCode.OK),
    "upcoming": (["upcoming", POLICIES, "--now", NOW, "--days", "400"], ExitCode.OK),
    "plan": (["plan", POLICIES, "--now", NOW], ExitCode.USAGE),  # no --cloud: Chinese error
    "apply": (["apply", POLICIES, "--now", NOW], ExitCode.USAGE),
    "enforce": (["enforce", POLICIES, "--now", NOW, "--cloud", "nowhere"], ExitCode.FAILURE),
    "exporter": (["exporter", POLICIES], ExitCode.USAGE),
    # the shipped policies/ sit in this git repository (a clone in CI)
    "diff": (["diff", "HEAD", "HEAD", POLICIES], ExitCode.OK),
    "pr-comment": (["pr-comment", "HEAD", POLICIES, "--now", NOW], ExitCode.OK),
    "recertify": (["recertify", POLICIES, "--now", NOW, "--days", "400"], ExitCode.OK),
    "reach": (["reach", POLICIES, "--to", "172.21.4.21:443", "--at", NOW], ExitCode.OK),
    # nothing listens on port 9 of loopback: the Chinese connection error
    "report": (
        ["report", "--period", "2027-01", "--prometheus", "http://127.0.0.1:9", POLICIES],
        ExitCode.FAILURE,
    ),
    "bastion plan": (["bastion", "plan", POLICIES, "--now", NOW], ExitCode.OK),
    "bastion apply": (["bastion", "apply", POLICIES, "--now", NOW], ExitCode.OK),
    # no bastion account in the forms: refused before any connection
    "ssh": (["ssh", "172.21.4.21", "--policies", POLICIES], ExitCode.FAILURE),
    "tunnel": (["tunnel", "172.21.4.21", "22", "--policies", POLICIES], ExitCode.FAILURE),
    # no --cloud: the Chinese usage error, before the program or the cloud
    "pulumi import-file": (["pulumi", "import-file", POLICIES, "--now", NOW], ExitCode.USAGE),
    "devcloud up": (["devcloud", "up", "--profile", "huge", "--dir", "{tmp}"], ExitCode.USAGE),
    "devcloud status": (["devcloud", "status", "--dir", "{tmp}"], ExitCode.FAILURE),
    "devcloud down": (["devcloud", "down", "--dir", "{tmp}"], ExitCode.OK),
    "devcloud logs": (["devcloud", "logs", "keystone", "--dir", "{tmp}"], ExitCode.FAILURE),
    "": ([], ExitCode.USAGE),  # no command: the (Chinese) help
}


def test_every_command_has_a_case() -> None:
    assert set(IDS) <= set(CASES), sorted(set(IDS) - set(CASES))


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with an error, so validate prints Chinese findings."""
    repo = tmp_path_factory.mktemp("broken") / "policies"
    shutil.copytree(POLICIES, repo)
    plan = next(repo.rglob("annual-plan.yaml"))
    plan.write_text(
        plan.read_text("utf-8").replace("kind: AnnualPlan", "kind: AnnualPlann"), "utf-8"
    )
    return repo


def _env(condition: str, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHONIOENCODING", "LC_", "PYTHONUTF8", "OS_CLOUD"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        OS_CLIENT_CONFIG_FILE=str(tmp / "no-clouds.yaml"),
        # commands that audit (ssh/tunnel refusals) write here, never to the real home
        CGCLOUD_AUDIT_LOG=str(tmp / "audit.jsonl"),
        XDG_STATE_HOME=str(tmp / "state"),
    )
    if condition == "ascii":
        env.update(PYTHONIOENCODING="ascii", LANG="C")
    elif condition == "latin-1":
        env.update(PYTHONIOENCODING="latin-1")
    elif condition == "C-locale":  # the C locale with Python's UTF-8 rescue turned off
        env.update(LANG="C", LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    return env


def _run(argv: list[str], condition: str, tmp: Path) -> tuple[int, bytes, str]:
    cmd = [sys.executable, "-m", "cgcloud", *argv]
    env = _env(condition, tmp)
    if condition == "reader-gone":  # `| head -c0`: the reader closed before we write
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run(cmd, env=env, stdout=w, stderr=subprocess.PIPE, timeout=300)
        finally:
            os.close(w)
        return p.returncode, b"", p.stderr.decode("utf-8", "replace")
    if condition == "stdout-closed":  # `>&-`
        p = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *cmd], env=env, stderr=subprocess.PIPE, timeout=300
        )
        return p.returncode, b"", p.stderr.decode("utf-8", "replace")
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("name", sorted(CASES), ids=[n or "(none)" for n in sorted(CASES)])
def test_command_survives_every_stream(name: str, broken: Path, tmp_path: Path) -> None:
    args, code = CASES[name]
    argv = [a.format(broken=broken, tmp=tmp_path) for a in args]
    with ThreadPoolExecutor(2) as pool:  # two at a time: the machine has two cores
        results = dict(
            zip(CONDITIONS, pool.map(lambda c: _run(argv, c, tmp_path), CONDITIONS), strict=True)
        )
    for condition, (rc, out, err) in results.items():
        where = f"{name or '(none)'} under {condition}: exit {rc}\n{err[-2000:]}"
        assert "Traceback" not in err and "Exception ignored" not in err, where
        assert rc in set(ExitCode), where
        if condition in ("reader-gone",):
            # the output could not be delivered: success becomes 1, other codes stay
            assert rc == (ExitCode.FAILURE if code == ExitCode.OK else code), where
        else:
            assert rc == code, where
        if condition == "ascii":
            # an ASCII stream gets UTF-8 (as click does): the Chinese text is intact
            (out + err.encode()).decode("utf-8")
        if condition == "latin-1" and out:
            out.decode("latin-1")
            assert b"\\u" in out or out.isascii(), where  # what latin-1 can't carry is escaped


def test_ascii_stream_keeps_the_chinese_readable(tmp_path: Path) -> None:
    rc, out, err = _run(["validate", POLICIES, "--now", NOW], "ascii", tmp_path)
    assert rc == ExitCode.OK, err
    assert "检查了" in out.decode("utf-8")


def test_latin1_stream_escapes_what_it_cannot_carry(tmp_path: Path) -> None:
    rc, out, err = _run(["validate", POLICIES, "--now", NOW], "latin-1", tmp_path)
    assert rc == ExitCode.OK, err
    assert "\\u68c0\\u67e5\\u4e86" in out.decode("latin-1")  # 检查了

"""The GitHub template's plan and comment steps against the real devcloud (read-only).

tests/gitops/test_templates.py runs every template step without a cloud; this one runs
the review job's "plan against the cloud" step with the devcloud's clouds.yaml given as
the CI secret, exactly as the workflow writes it, and checks the comment carries the plan.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gitops.conftest import NP, Repo, _env

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install -e '.[dev]')")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.devcloud


def test_review_job_plans_against_the_devcloud(devcloud: Any, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = Repo(tmp_path / "policy-repo")
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    shutil.copytree(ROOT / "policies", repo.path / "policies")
    repo.commit("基准")
    repo.git("checkout", "-q", "-b", "change")
    repo.replace(
        NP,
        "cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
        "cloud_resource_manager: {by: 钱七, date: 2026-11-27}",
    )
    repo.replace(NP, "port: TCP443, note: 市民访问门户}", "port: TCP443、8443, note: 市民访问门户}")
    repo.commit("门户加开 8443，审核人1 重新签字")
    repo.git("remote", "add", "origin", str(repo.path))
    repo.git("fetch", "-q", "origin")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "cgcloud"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cgcloud "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    clouds_yaml = getattr(devcloud, "clouds_yaml", None) or str(
        Path.home() / ".cache/cgcloud/devcloud/clouds.yaml"
    )
    env = _env()
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        OS_CLOUD=getattr(devcloud, "cloud", "devcloud"),
        OS_CLIENT_CONFIG_FILE=str(tmp_path / "secret-clouds.yaml"),
        CLOUDS_YAML=Path(clouds_yaml).read_text(encoding="utf-8"),
        GITHUB_OUTPUT=str(tmp_path / "out"),
        BASE="origin/main",
    )
    wf = yaml.safe_load((ROOT / "templates/ci/github-workflow.yml").read_text(encoding="utf-8"))
    steps = {s.get("name"): s for s in wf["jobs"]["review"]["steps"]}
    for name in ("semantic diff", "plan against the cloud (read-only)", "comment"):
        done = subprocess.run(
            ["bash", "-e", "-c", steps[name]["run"]],
            cwd=repo.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
    assert "changes=2" in (tmp_path / "out").read_text(encoding="utf-8")
    assert (repo.path / "plan.json").is_file(), "plan did not reach the devcloud"
    body = (repo.path / "comment.md").read_text(encoding="utf-8")
    assert "<summary>云上计划</summary>" in body
    assert "未计算" not in body

"""`cgcloud pulumi import-file` as users run it (a subprocess): the exit-code table on bad
input and on a cloud that refuses, and no file written in either case. The file itself
on a real cloud: tests/integration/test_pulumi_import.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pulumi_openstack", reason="the pulumi extra is not installed")

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
NOW = "2027-01-15T10:00"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clouds = tmp / "clouds.yaml"
    clouds.write_text(
        yaml.safe_dump(
            {
                "clouds": {
                    "c": {
                        "auth": {
                            "auth_url": f"http://127.0.0.1:{_closed_port()}/v3",
                            "username": "admin",
                            "password": "not-a-secret-test-only",
                            "project_name": "admin",
                            "user_domain_name": "Default",
                            "project_domain_name": "Default",
                        },
                        "region_name": "RegionOne",
                        "api_timeout": 5,
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        OS_CLIENT_CONFIG_FILE=str(clouds),
        PYTHONPATH=str(ROOT),
        HOME=str(tmp),
        CGCLOUD_LANG="zh",
        CGCLOUD_DEVCLOUD_DIR=str(tmp / "no-devcloud"),
    )
    return subprocess.run(
        [sys.executable, "-m", "cgcloud", "pulumi", "import-file", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        timeout=120,
    )


def test_usage_errors_exit_64_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    cases = [
        [str(POLICIES), "--cloud", "c", "--now", NOW, "--out", str(tmp_path / "no" / "x.json")],
        [str(POLICIES), "--cloud", "c", "--now", "2027-13-45", "--out", str(out)],
        [str(tmp_path / "no-such-dir"), "--cloud", "c", "--now", NOW, "--out", str(out)],
        [str(POLICIES), "--now", NOW, "--out", str(out)],  # no --cloud, no $OS_CLOUD
    ]
    for args in cases:
        r = _run(tmp_path, *args)
        assert r.returncode == 64, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.startswith("错误")
        assert not out.exists() and r.stdout == ""


def test_forms_with_errors_exit_1_before_the_cloud_is_asked(tmp_path: Path) -> None:
    repo = tmp_path / "policies"
    shutil.copytree(POLICIES, repo)
    form = repo / "智慧城管综合平台" / "network-policy.yaml"
    form.write_text(
        form.read_text(encoding="utf-8").replace("port: TCP443", "port: TCP99999", 1),
        encoding="utf-8",
    )
    r = _run(tmp_path, str(repo), "--cloud", "c", "--now", NOW, "--out", str(tmp_path / "i.json"))
    assert r.returncode == 1, r.stderr
    assert "表单校验未通过" in r.stderr and "无法连接" not in r.stderr
    assert not (tmp_path / "i.json").exists()


def test_a_cloud_that_refuses_exits_1_with_one_line_and_no_file(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    r = _run(tmp_path, str(POLICIES), "--cloud", "c", "--now", NOW, "--out", str(out))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "devcloud" not in r.stderr
    assert "127.0.0.1" in r.stderr and "not-a-secret-test-only" not in r.stderr
    assert not out.exists() and r.stdout == ""

"""The README's demo, line by line, against the real devcloud: what a newcomer types works.

The lines are read from README.md itself (the indented block under "## Demo"), so the
README cannot drift from what works. `devcloud up`/`down` are the fixture's job and
`exporter` runs forever (tests/integration/test_exporter_e2e.py covers it); every other
line runs as written, from the repository root, and must exit 0.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cgcloud.engines.openstack import OpenStackEngine

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "智慧城管综合平台"

pytestmark = pytest.mark.devcloud


def demo_lines() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Demo", 1)[1].split("\n## ", 1)[0]
    lines = []
    for raw in block.splitlines():
        if not raw.startswith("    cgcloud "):
            continue
        words = shlex.split(raw.strip(), comments=True)
        if words[1] in ("devcloud", "exporter"):
            continue
        lines.append(words)
    return lines


def test_the_readme_has_the_demo_steps() -> None:
    verbs = [w[1] for w in demo_lines()]
    assert verbs[:4] == ["validate", "plan", "apply", "plan"], verbs
    assert "enforce" in verbs and "upcoming" in verbs


@pytest.fixture
def clean_cloud(devcloud: Any) -> Iterator[dict[str, str]]:
    clouds = getattr(devcloud, "clouds_yaml", None) or str(
        Path.home() / ".cache/cgcloud/devcloud/clouds.yaml"
    )
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds)}
    env.pop("OS_CLOUD", None)
    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    _remove_system(OpenStackEngine("devcloud"))  # a leftover of an interrupted run
    try:
        yield env
    finally:
        _remove_system(OpenStackEngine("devcloud"))
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old


def _remove_system(engine: OpenStackEngine) -> None:
    """Delete the example system's project and its groups (what the demo's apply made)."""
    body = engine.call("identity", "GET", "/projects", params={"name": SYSTEM})
    for proj in body.get("projects", []):
        groups = engine.call(
            "network", "GET", "/security-groups", params={"project_id": proj["id"]}
        )["security_groups"]
        for g in groups:
            engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
        engine.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))


def test_readme_demo_runs_as_written(clean_cloud: dict[str, str]) -> None:
    ran = []
    for words in demo_lines():
        cmd = [sys.executable, "-m", "cgcloud", *words[1:]]
        out = subprocess.run(
            cmd, cwd=ROOT, env=clean_cloud, capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, f"{shlex.join(words)}\n{out.stdout}\n{out.stderr}"
        ran.append((words[1], out.stdout))
    outputs = dict(ran)
    # the second plan (--detailed-exitcode) exited 0: apply left nothing to do
    assert [v for v, _ in ran].count("plan") == 2
    assert "关闭 WL-2026-0031 第10行 TCP3306" in outputs["upcoming"]
    assert (
        "关闭 WL-2026-0031 第7行 TCP22" in outputs["enforce"]
    )  # row 10 targets a placeholder: never opened

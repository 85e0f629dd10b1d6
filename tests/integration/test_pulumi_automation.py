"""`--engine pulumi` for real: Pulumi's Automation API, a local ``file://`` backend, the devcloud.

Runs only where the Pulumi CLI is installed (``shutil.which("pulumi")``): the
Automation API shells out to it, and no package registry reachable from the
project's own machines ships it (docs/pulumi.md, "What is tested"). Here it SKIPS
with that reason; a skip is not a pass (CGCLOUD_REQUIRE_ALL does not cover it).

The repository is the example's one system under a unique name and with unique
server sizes (so its flavors are its own: Pulumi would refuse to create a flavor
another test's apply made), previewed, applied, previewed again (no change), and
destroyed through the same stack.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_apply import World, cloud_env  # noqa: F401

from cgcloud import engines
from cgcloud import plan as planner

PULUMI = shutil.which("pulumi")
pytestmark = [
    pytest.mark.devcloud,
    pytest.mark.skipif(
        PULUMI is None,
        reason="the Pulumi CLI is not installed (shutil.which('pulumi') found nothing): "
        "the Automation API shells out to it",
    ),
]


@pytest.fixture
def pworld(
    tmp_path: Path,
    cloud_env: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[World, dict[str, str]]]:
    w = World(tmp_path, cloud_env)
    shutil.rmtree(w.repo / "旧版数字城管系统")  # one system: the one this test owns
    disk = 101 + uuid.uuid4().int % 800  # flavors of this test only
    for f in w.system_dir.glob("*.yaml"):
        f.write_text(
            f.read_text(encoding="utf-8").replace("system_disk_gb: 100", f"system_disk_gb: {disk}"),
            encoding="utf-8",
        )
    options = {
        "stack": f"t{uuid.uuid4().hex[:8]}",
        "backend": (tmp_path / "state").as_uri(),
    }
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    monkeypatch.setenv("CGCLOUD_PULUMI_DIR", str(tmp_path / "pulumi"))
    yield w, options
    engine: Any = engines.create("pulumi", "devcloud", options=options)
    from cgcloud.engines.pulumi.workspace import open_stack

    open_stack(engine.settings, "devcloud", lambda: None).destroy(color="never")
    w.cleanup()


def test_preview_apply_and_a_second_preview_through_pulumi(
    pworld: tuple[World, dict[str, str]], tmp_path: Path
) -> None:
    world, options = pworld
    engine: Any = engines.create(
        "pulumi", "devcloud", audit_path=tmp_path / "audit.jsonl", options=options
    )
    state = world.desired()
    actual = engine.read(state)
    plan = engine.preview(state, actual)
    creates = {(c.kind, c.system) for c in plan.changes if c.action == "create"}
    assert ("project", world.system) in creates and ("rule", world.system) in creates
    assert plan.deletes == 0 and plan.has_changes
    assert json.loads(planner.render(plan, "json"))["summary"]["create"] == len(plan.changes)

    result = engine.apply(state, plan, actual)
    assert result.ok, [(s.change.name, s.error) for s in result.failed]
    proj = world.project()
    assert proj is not None and set(proj["tags"]) >= {f"cgcloud:system={world.system}"}
    wanted = {r.description for r in state.rules if not r.remote_placeholder}
    made = {r["description"] for g in world.managed_groups() for r in world.rules_of(g["id"])}
    assert wanted <= made
    audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit and all(e["result"] == "done" for e in audit)

    again = engine.preview(state, engine.read(state))
    assert not again.has_changes, [(c.action, c.name) for c in again.changes]


def test_the_cli_plan_on_pulumi_honours_the_detailed_exit_code(
    pworld: tuple[World, dict[str, str]],
) -> None:
    world, options = pworld
    extra = ["--engine", "pulumi", "--stack", options["stack"], "--backend", options["backend"]]
    r = world.cli("plan", "--detailed-exitcode", "--format", "json", *extra)
    assert r.exit_code == 2, r.output
    assert json.loads(r.stdout)["has_changes"] is True
    assert world.cli("apply", "--yes", *extra).exit_code == 0
    r = world.cli("plan", "--detailed-exitcode", *extra)
    assert r.exit_code == 0, r.output

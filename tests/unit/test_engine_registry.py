"""Engines are chosen by name from one registry (cgcloud/engines/__init__.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgcloud import engines
from cgcloud.cli import app
from cgcloud.engines.base import Engine
from cgcloud.exitcodes import ExitCode

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_every_registered_engine_is_importable_and_names_itself() -> None:
    assert engines.DEFAULT == "openstack" and set(engines.names()) >= {"openstack", "memory"}
    mem = engines.create("memory", "m", timeout=3)
    assert isinstance(mem, Engine) and mem.name == "memory" and mem.cloud == "m"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(engines.UnknownEngine):
        engines.create("terraform", "x")
    r = CliRunner().invoke(
        app,
        [
            "plan",
            str(POLICIES),
            "--engine",
            "terraform",
            "--cloud",
            "x",
            "--now",
            "2027-01-15T10:00",
        ],
    )
    assert r.exit_code == ExitCode.USAGE and "terraform" in r.output


def test_plan_on_the_memory_engine_shows_what_a_fresh_cloud_gets() -> None:
    r = CliRunner().invoke(
        app,
        [
            "plan",
            str(POLICIES),
            "--engine",
            "memory",
            "--cloud",
            "m",
            "--now",
            "2027-01-15T10:00",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == ExitCode.OK, r.output
    plan = json.loads(r.stdout)
    creates = {(c["kind"], c["action"]) for s in plan["systems"] for c in s["changes"]}
    assert {("project", "create"), ("group", "create"), ("rule", "create")} <= creates

"""Session fixture `devcloud`: a real full-profile OpenStack on 127.0.0.1.

- If a healthy full devcloud is already up (in $CGCLOUD_DEVCLOUD_DIR or
  ~/.cache/cgcloud/devcloud), it is reused and left running.
- Otherwise the fixture runs `up("full")` once (installing the venv and Debian
  packages when missing: that is what a clean CI machine gets). A devcloud a
  fixture started is stopped when the last pytest session using it ends
  (sessions register in <dir>/fixture-users/<pid>), so a test run leaves
  nothing running. Set CGCLOUD_DEVCLOUD_KEEP=1 to keep it up for the next run.
While the session runs, OS_CLIENT_CONFIG_FILE points at its clouds.yaml, so
openstacksdk's `openstack.connect(cloud="devcloud")` works in any test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_ZONES = Path(__file__).resolve().parent / "data" / "zones.yaml"


@dataclass
class Devcloud:
    """What a test needs to reach the devcloud."""

    cloud: str
    clouds_yaml: str
    dir: Path
    zones: Path | None
    conn: Any
    started_here: bool


def _zones_file() -> Path:
    """The project's Zones policy if it exists, else the spec's default (test copy)."""
    shipped = REPO / "policies" / "zones.yaml"
    return shipped if shipped.is_file() else TEST_ZONES


def _live_users(users: Path) -> list[Path]:
    """Sessions (pid files) that still use the devcloud; dead ones are pruned."""
    from cgcloud.devcloud import procs

    live = []
    for f in users.glob("[0-9]*"):
        if procs.alive(int(f.name)):
            live.append(f)
        else:
            f.unlink(missing_ok=True)
    return live


def _start(launcher: Any, root: Path) -> None:
    """`up("full")`, or a skip with the reason when this machine cannot install it
    (not root for apt-get, no apt-get, no registry reachable for the venv): those are
    prerequisites (markers needs_apt, needs_network), not failures of cgcloud."""
    from promtools import unavailable

    from cgcloud.devcloud.procs import DevcloudError

    try:
        launcher.up("full", root, zones=_zones_file())
    except DevcloudError as exc:
        if exc.service not in ("apt", "venv", "pip"):
            raise
        unavailable(f"the devcloud cannot be installed here ({exc.service}): {exc.summary}")


@pytest.fixture(scope="session")
def devcloud() -> Iterator[Devcloud]:
    """Start (or reuse) the full devcloud; the last fixture session out stops it.

    Why the user files: several pytest sessions may share one machine (and the
    fixed ports); a session must not stop a devcloud another one still uses.
    """
    from cgcloud.devcloud import launcher
    from cgcloud.devcloud.config import CLOUD_NAME, resolve_dir

    root = resolve_dir(None)
    users = root / "fixture-users"
    users.mkdir(parents=True, exist_ok=True)
    me = users / str(os.getpid())
    started = False
    with launcher._locked(launcher.Layout(root)):
        me.touch()
    if not launcher.is_up(root, "full"):
        _start(launcher, root)
        with launcher._locked(launcher.Layout(root)):
            (users / "started-by-fixture").touch()
        started = True
    zones = launcher.state(root).get("zones")
    clouds_yaml = str(root / "clouds.yaml")
    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
    try:
        yield Devcloud(
            CLOUD_NAME,
            clouds_yaml,
            root,
            Path(zones) if zones else None,
            launcher.connect(root),
            started,
        )
    finally:
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old
        with launcher._locked(launcher.Layout(root)):
            me.unlink(missing_ok=True)
            marker = users / "started-by-fixture"
            stop = (
                marker.exists()
                and not _live_users(users)
                and os.environ.get("CGCLOUD_DEVCLOUD_KEEP") != "1"
            )
            if stop:
                marker.unlink()
        if stop:
            launcher.down(dir=root)

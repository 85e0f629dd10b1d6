"""Session fixture `devcloud`: a real full-profile OpenStack on 127.0.0.1.

- If a healthy full devcloud is already up (in $CGCLOUD_DEVCLOUD_DIR or
  ~/.cache/cgcloud/devcloud), it is reused and left running.
- Otherwise the fixture runs `up("full")` once (installing the venv and Debian
  packages when missing: that is what a clean CI machine gets) and stops it
  again at the end of the session, so a test run leaves nothing running.
  Set CGCLOUD_DEVCLOUD_KEEP=1 to keep it up for the next run.
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


@pytest.fixture(scope="session")
def devcloud() -> Iterator[Devcloud]:
    from cgcloud.devcloud import launcher
    from cgcloud.devcloud.config import CLOUD_NAME, resolve_dir

    root = resolve_dir(None)
    started = False
    if not launcher.is_up(root, "full"):
        launcher.up("full", root, zones=_zones_file())
        started = True
    zones = launcher.state(root).get("zones")
    clouds_yaml = str(root / "clouds.yaml")
    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
    try:
        yield Devcloud(CLOUD_NAME, clouds_yaml, root, Path(zones) if zones else None,
                       launcher.connect(root), started)
    finally:
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old
        if started and os.environ.get("CGCLOUD_DEVCLOUD_KEEP") != "1":
            launcher.down(dir=root)

"""How a cloud name becomes an openstacksdk connection, without touching the environment.

The one rule (docs/reconcile.md, "Which cloud"): openstacksdk looks the name up as
its users expect (``clouds.yaml`` in its search path, ``$OS_CLIENT_CONFIG_FILE``,
``secure.yaml``, ``OS_*`` variables). Only when no cloud of that name is configured
there and the devcloud's ``clouds.yaml`` exists (``$CGCLOUD_DEVCLOUD_DIR/clouds.yaml``,
default ``~/.cache/cgcloud/devcloud/clouds.yaml``) is the name looked up in that file
— so ``--cloud devcloud`` works right after ``cgcloud devcloud up``. The process
environment is never changed (an earlier version set ``OS_CLIENT_CONFIG_FILE``,
which leaked into every later connection of the process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEVCLOUD_DIR_ENV = "CGCLOUD_DEVCLOUD_DIR"
DEVCLOUD_DEFAULT_DIR = Path("~/.cache/cgcloud/devcloud")


def devcloud_clouds_yaml() -> Path:
    """Where `cgcloud devcloud up` writes its clouds.yaml (same rule as its --dir default)."""
    raw = os.environ.get(DEVCLOUD_DIR_ENV) or DEVCLOUD_DEFAULT_DIR
    return Path(raw).expanduser() / "clouds.yaml"


def connect(cloud: str) -> Any:
    """An openstacksdk connection to ``cloud`` by the rule above."""
    import openstack
    import openstack.config
    import openstack.connection

    fallback = devcloud_clouds_yaml()
    if fallback.exists() and not _named_cloud_exists(cloud):
        cfg = openstack.config.OpenStackConfig(config_files=[str(fallback)])
        return openstack.connection.Connection(config=cfg.get_one(cloud=cloud))
    return openstack.connect(cloud=cloud)


def _named_cloud_exists(cloud: str) -> bool:
    from openstack import config

    try:
        return cloud in config.OpenStackConfig().get_cloud_names()
    except Exception:  # noqa: BLE001 - a broken clouds.yaml is reported by connect()
        return True

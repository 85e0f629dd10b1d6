"""Where cgcloud keeps files of its own between runs (audit log, reclaim records)."""

from __future__ import annotations

import os
from pathlib import Path


def state_path(env: str, name: str) -> Path:
    """``$env`` if set, else ``$XDG_STATE_HOME/cgcloud/<name>`` (~/.local/state/cgcloud/…)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cgcloud" / name

"""`cgcloud devcloud`: a real OpenStack control plane on 127.0.0.1 (optional extra).

Nothing in cgcloud's core imports this package; the heavy lifting (OpenStack
services) runs from a private venv under the devcloud directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cgcloud.devcloud.launcher import down, is_up, logs, status, up

__all__ = ["connect", "down", "is_up", "logs", "status", "up"]


def __getattr__(name: str) -> Any:
    """Import the launcher lazily: `import cgcloud.devcloud` stays cheap."""
    if name in __all__:
        from cgcloud.devcloud import launcher

        return getattr(launcher, name)
    raise AttributeError(name)

"""Engines realise a desired state on a cloud; the core never imports them.

The registry below is the one place that knows which engines exist: adding one is a
module implementing ``cgcloud.engines.base.Engine`` plus one line here. Entries are
import paths, so choosing an engine imports only that engine (openstacksdk is heavy).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cgcloud.engines.base import Engine

DEFAULT = "openstack"
REGISTRY: dict[str, str] = {
    "openstack": "cgcloud.engines.openstack:OpenStackEngine",
    "memory": "cgcloud.engines.memory:MemoryEngine",
    "pulumi": "cgcloud.engines.pulumi.engine:PulumiEngine",
}


class UnknownEngine(ValueError):
    """A name not in the registry (a usage error)."""


def names() -> list[str]:
    return sorted(REGISTRY)


def engine_class(name: str) -> type[Engine]:
    """The class registered as ``name``, for what an engine declares without a cloud
    (its ``quota_room``): the Pulumi program asks Neutron's this way."""
    try:
        module, _, attr = REGISTRY[name].partition(":")
    except KeyError:
        raise UnknownEngine(name) from None
    cls: type[Engine] = getattr(importlib.import_module(module), attr)
    return cls


def create(
    name: str,
    cloud: str,
    *,
    audit_path: Path | None = None,
    timeout: float | None = None,
    options: Mapping[str, str] | None = None,
) -> Engine:
    """The engine ``name`` connected to ``cloud`` (its errors are the engine's own).
    ``timeout``: seconds to wait for each answer of the cloud (None: the engine's own).
    ``options``: the engine's own keyword options (Pulumi: ``stack``, ``backend``)."""
    factory: Any = engine_class(name)
    engine: Engine = factory(cloud, audit_path=audit_path, timeout=timeout, **(options or {}))
    return engine

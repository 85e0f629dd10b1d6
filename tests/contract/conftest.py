"""The contract suite's engines: the same scenarios on every engine of the registry.

``site`` is parametrised over the engines: ``memory`` runs on every test run (fast,
no cloud), ``openstack`` runs against the real devcloud (marked ``devcloud``; the
session fixture ``devcloud`` is the integration suite's own, loaded from its file).
A ``Site`` gives a scenario what it needs beyond the ``Engine`` protocol: someone
else's hand on the cloud (a port appears, a rule is added by hand, a port goes)
and cleaning up after itself on a shared cloud.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_sites import ROOT, MemorySite, OpenStackSite, Site


def _integration_fixtures() -> Any:
    """tests/integration/conftest.py as a module (its `devcloud` session fixture)."""
    path = ROOT / "tests" / "integration" / "conftest.py"
    spec = importlib.util.spec_from_file_location("cgcloud_integration_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


devcloud = _integration_fixtures().devcloud


@pytest.fixture(params=["memory", pytest.param("openstack", marks=pytest.mark.devcloud)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    s: Site
    if request.param == "memory":
        from cgcloud.engines.memory import MemoryCloud, MemoryEngine

        cloud = MemoryCloud()
        s = MemorySite(
            MemoryEngine("memory", state=cloud),
            tmp_path,
            lambda: MemoryEngine("memory", state=cloud, actor="other"),
        )
    else:
        dc = request.getfixturevalue("devcloud")
        from cgcloud.engines.openstack import OpenStackEngine

        s = OpenStackSite(OpenStackEngine(dc.cloud), tmp_path, lambda: OpenStackEngine(dc.cloud))
    try:
        yield s
    finally:
        s.cleanup()

"""The product wheel does not carry the devcloud; the devcloud is a wheel of its own.

Built for real with the project's build backend (hatchling, in the dev extra);
``cgcloud devcloud`` without the devcloud installed says how to get it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    pytest.importorskip("hatchling", reason="the build backend (dev extra) is not installed")
    out = tmp_path_factory.mktemp("wheels")
    for where in (ROOT, ROOT / "devcloud"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                str(out),
                str(where),
            ],
            check=True,
            timeout=300,
            capture_output=True,
        )
    return {w.name.split("-")[0]: zipfile.ZipFile(w).namelist() for w in out.glob("*.whl")}


def test_the_product_wheel_has_no_devcloud(wheels: dict[str, list[str]]) -> None:
    product = wheels["cgcloud"]
    assert "cgcloud/cli/__init__.py" in product and "cgcloud/engines/base.py" in product
    assert not [n for n in product if "devcloud" in n or "ml2" in n]


def test_the_devcloud_wheel_carries_launcher_plugin_and_helpers(
    wheels: dict[str, list[str]],
) -> None:
    dev = wheels["cgcloud_devcloud"]
    for f in (
        "cgcloud/devcloud/launcher.py",
        "cgcloud/devcloud/helpers/neutron_schema.py",
        "cgcloud/devcloud/ml2_bindall/cgcloud_ml2_bindall/mech.py",
    ):
        assert f in dev
    assert not [n for n in dev if n.startswith("cgcloud/") and "/devcloud/" not in n]


def test_devcloud_command_without_the_devcloud_says_how_to_install_it() -> None:
    code = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.startswith("cgcloud.devcloud"):
            raise ImportError(name)
sys.meta_path.insert(0, Block())
from cgcloud.cli import main
sys.argv = ["cgcloud", "devcloud", "up"]
main()
"""
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert r.returncode == 1
    assert "pip install ./devcloud" in r.stderr and "Traceback" not in r.stderr

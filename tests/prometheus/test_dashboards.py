"""The committed dashboards: fresh, valid for the SDK's dashboard model, PromQL checked by promtool."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "dashboards"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "cgcloud_dashboards_build", DASHBOARDS / "build.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build = _build_module()
NAMES = sorted(build.DASHBOARDS)


def _load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_committed_json_is_what_build_py_generates(name: str) -> None:
    want = build.render(build.DASHBOARDS[name]())
    have = (DASHBOARDS / name).read_text(encoding="utf-8")
    assert have == want, f"dashboards/{name} is stale: run `python dashboards/build.py`"


def test_no_stray_dashboard_files() -> None:
    assert sorted(p.name for p in DASHBOARDS.glob("*.json")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trips_through_the_sdk_dashboard_model(name: str) -> None:
    """The SDK's generated model (Grafana's dashboard schema v41) drops what it does not
    know: a round trip equal to the input means every key and panel type is in the schema."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models import dashboard as model
    from grafana_foundation_sdk.models import prometheus as pm

    register_default_plugins()
    data = _load(name)
    parsed = model.Dashboard.from_json(data)
    again = json.loads(json.dumps(parsed, cls=JSONEncoder))
    assert again == data
    assert data["schemaVersion"] >= 39 and data["uid"].startswith("cgcloud-")
    panels = [p for p in parsed.panels or [] if isinstance(p, model.Panel)]
    assert panels
    ids = [p.id_val for p in parsed.panels or []]
    assert len(ids) == len(set(ids)) and None not in ids
    for panel in panels:
        assert panel.targets, panel.title
        assert all(isinstance(t, pm.Dataquery) for t in panel.targets), panel.title
        refs = [t.ref_id for t in panel.targets]  # type: ignore[attr-defined]
        assert all(refs) and len(refs) == len(set(refs)), panel.title
        assert panel.datasource is not None and panel.datasource.type_val == "prometheus"


def test_overview_puts_compliance_before_usage() -> None:
    titles = [p["title"] for p in _load("cgcloud-overview.json")["panels"]]
    first_usage = next(i for i, t in enumerate(titles) if "Usage" in t)
    compliance = " ".join(titles[:first_usage])
    for word in ("High-risk rules past window", "Exposures", "Drift"):
        assert word in compliance


def test_every_panel_query_passes_promtool(promtool: str, tmp_path: Path) -> None:
    """Each expr wrapped as a recording rule: a typo in a panel fails here."""
    rules = []
    for name in NAMES:
        for i, (title, expr) in enumerate(build.exprs(_load(name))):
            rules.append(
                {
                    "record": f"cgcloud:panel:{name.split('.')[0].replace('-', '_')}_{i}",
                    "expr": expr,
                    "labels": {"panel": title},
                }
            )
    assert len(rules) >= 25
    f = tmp_path / "panels.rules.yml"
    f.write_text(
        yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}, allow_unicode=True),
        encoding="utf-8",
    )
    r = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(rules)} rules found" in r.stdout


def test_promtool_catches_a_broken_panel_query(promtool: str, tmp_path: Path) -> None:
    f = tmp_path / "bad.rules.yml"
    f.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "p",
                        "rules": [
                            {"record": "cgcloud:panel:bad", "expr": "sum(cgcloud_used_vcpus"}
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    r = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True)
    assert r.returncode != 0

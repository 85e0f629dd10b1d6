"""alerts/cgcloud.rules.yml: valid, and every alert has `promtool test rules` coverage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "alerts" / "cgcloud.rules.yml"
TESTS = sorted(Path(__file__).resolve().parent.glob("*.test.yml"))
SEVERITIES = {"critical", "warning", "info"}


def _alerts() -> list[dict]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r for g in data["groups"] for r in g["rules"] if "alert" in r]


def test_rules_file_passes_promtool_check(promtool: str) -> None:
    r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=lambda p: p.name)
def test_promtool_unit_tests(promtool: str, test_file: Path) -> None:
    r = subprocess.run(
        [promtool, "test", "rules", test_file.name],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_has_a_firing_unit_test() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for f in TESTS:
        for t in yaml.safe_load(f.read_text(encoding="utf-8"))["tests"]:
            for a in t.get("alert_rule_test", []):
                (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - fired == set(), "alerts without a firing test"
    assert names - quiet == set(), "alerts without a not-firing test"


def test_alerts_have_a_severity_and_summary() -> None:
    for a in _alerts():
        assert a["labels"]["severity"] in SEVERITIES, a["alert"]
        assert a["annotations"]["summary"], a["alert"]


def test_incident_levels_are_settled() -> None:
    """第二十三条 levels: an annotation names exactly one level; no 'proposed' is left."""
    for a in _alerts():
        level = a["annotations"].get("incident_level")
        if level is not None:
            assert level in {"一级", "二级", "三级"}, a["alert"]

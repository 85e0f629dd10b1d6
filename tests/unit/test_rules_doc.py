"""docs/rules.md is generated from the rule registry and must not go stale."""

from __future__ import annotations

from pathlib import Path

from cgcloud import report
from cgcloud.rules import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
REGENERATE = "cgcloud rules --format markdown > docs/rules.md"


def test_rules_doc_is_current() -> None:
    assert DOC.is_file(), f"docs/rules.md is missing: run `{REGENERATE}`"
    committed = DOC.read_text(encoding="utf-8")
    assert committed == report.render_rules("markdown") + "\n", (
        f"docs/rules.md is stale (a rule was added or changed): run `{REGENERATE}`"
    )


def test_rules_doc_names_every_rule() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [rule_id for rule_id in REGISTRY if f"| {rule_id} |" not in text]
    assert not missing, f"not in docs/rules.md: {missing}; run `{REGENERATE}`"

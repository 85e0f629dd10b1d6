"""docs/rules.md (Chinese) and docs/rules.en.md (English) are generated from the rule
registry by the real CLI and must not go stale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from cgcloud.report import RULES_DOCS
from cgcloud.rules import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile("[\u4e00-\u9fff]")
REGENERATE = {
    "zh": "cgcloud rules --format markdown > docs/rules.md",
    "en": "CGCLOUD_LANG=en cgcloud rules --format markdown > docs/rules.en.md",
}


@cache
def generated(lang: str) -> str:
    """What `cgcloud rules --format markdown` prints in ``lang`` (a subprocess: the
    language is chosen the way a user chooses it)."""
    env = {**os.environ, "CGCLOUD_LANG": lang, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "cgcloud", "rules", "--format", "markdown"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("lang", sorted(RULES_DOCS))
def test_rules_doc_is_current(lang: str) -> None:
    doc = ROOT / RULES_DOCS[lang][0]
    assert doc.is_file(), f"{doc.name} is missing: run `{REGENERATE[lang]}`"
    assert doc.read_text(encoding="utf-8") == generated(lang), (
        f"{doc.name} is stale (a rule or its translation changed): run `{REGENERATE[lang]}`"
    )


@pytest.mark.parametrize("lang", sorted(RULES_DOCS))
def test_rules_doc_names_every_rule(lang: str) -> None:
    text = (ROOT / RULES_DOCS[lang][0]).read_text(encoding="utf-8")
    missing = [rule_id for rule_id in REGISTRY if f"| {rule_id} |" not in text]
    assert not missing, f"not in {RULES_DOCS[lang][0]}: {missing}; run `{REGENERATE[lang]}`"


def test_the_two_rules_docs_link_to_each_other_and_differ_only_in_language() -> None:
    zh, en = generated("zh"), generated("en")
    assert "[English](rules.en.md)" in zh.splitlines()[:4]
    assert "[中文](rules.md)" in en.splitlines()[:4]
    assert zh.startswith("# cgcloud 规则一览") and en.startswith("# cgcloud rules")
    # the same rules in the same order with the same IDs, severities and names
    rows = [
        [line.split(" | ")[i] for i in (0, 1, 3)]
        for line in zh.splitlines()
        if line.startswith("| CG")
    ]
    en_rows = [
        [line.split(" | ")[i] for i in (0, 1, 3)]
        for line in en.splitlines()
        if line.startswith("| CG")
    ]
    assert rows == en_rows and len(rows) == len(REGISTRY)
    # every English summary is English (Chinese only in parentheses: what a user writes
    # in a form, like the placeholder 系统名称-用途)
    untranslated = [
        line
        for line in en.splitlines()
        if line.startswith("| CG") and HAN.search(re.sub(r"\([^)]*\)", "", line.split(" | ")[4]))
    ]
    assert not untranslated, untranslated

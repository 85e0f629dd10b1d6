"""What the tests that run a command in both languages share: which Chinese in an
English output is the users' own data (the forms' keys and values) and which is
cgcloud's, left untranslated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

CHINESE_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


def strings(value: Any) -> list[str]:
    """Every string of a YAML/JSON document, keys and values."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def form_words(policies: Path) -> str:
    """Every string of the forms under ``policies``: the Chinese English output may
    carry, because it is the users' data."""
    return "\n".join(
        s
        for path in sorted(policies.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        for s in strings(doc)
    )


def foreign_chinese(text: str, form_text: str) -> list[str]:
    """The Chinese in ``text`` that is not the forms' data: cgcloud's own, untranslated."""
    return sorted({run for run in CHINESE_RUN.findall(text) if run not in form_text})

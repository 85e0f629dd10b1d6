"""Rule summaries and articles, built at import time, are each an ``N_()`` message.

(Issue 13, part A.) `test_marked.py` scans the validation wing for unmarked Chinese;
this checks what a scan of literals cannot see: a summary passed on through a variable.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "cgcloud"


def test_every_rule_summary_and_article_is_a_message() -> None:
    """Rule summaries and articles are built at import time: each must be an ``N_()``
    literal (the scan above cannot see a plain literal passed on through a variable)."""
    from babel.messages.extract import extract_from_dir  # Babel: the dev extra

    from cgcloud.rules import REGISTRY

    marked = {
        message
        for _path, _line, message, _comments, _ctx in extract_from_dir(
            str(PACKAGE / "rules"), method_map=[("**.py", "python")], keywords={"N_": None}
        )
    }
    missing = sorted(
        f"{r.id}: {text!r}"
        for r in REGISTRY.values()
        for text in (r.summary, r.article)
        if text not in marked
    )
    assert missing == []

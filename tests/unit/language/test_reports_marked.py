"""Issue 13: every message of the reports (旬报/月报/半年报), the report command's
document and the exporter goes through the catalogs, and stays there.

The same AST scan as the other areas' (``test_lang_text_marked``), over the reports'
files with their own list of literals that are data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_lang_text_marked import problems

ROOT = Path(__file__).resolve().parents[3]

SCANNED = [  # globs under the repository root, one per line
    "cgcloud/exporter/*.py",
    "cgcloud/reports/*.py",
]
# (file, enclosing function, "" at module level) → its Chinese literals that are data
ALLOWED = {
    # the period names users type (`--period 2027-01-上旬`) and their grammar
    ("cgcloud/reports/period.py", ""): {
        "上旬",
        "中旬",
        "下旬",
        r"^(\d{4})-(?:(0[1-9]|1[0-2])(?:-(上旬|中旬|下旬))?|H([12]))$",
    },
    # the regulation's incident levels (第二十三条) as alert labels carry them: keys
    ("cgcloud/reports/incidents.py", ""): {"一级", "二级", "三级", "(一级|二级|三级)"},
    ("cgcloud/reports/incidents.py", "level_of"): {"三级"},
    ("cgcloud/reports/incidents.py", "incidents"): {"一级", "二级"},
    ("cgcloud/reports/charts.py", ""): {"一级", "二级", "三级"},
    # a sheet name from a section title "一、…": the numbering is cut off, in any language
    ("cgcloud/reports/xlsx.py", "_sheet_name"): {"、"},
    # metric HELP text (English, quoting the forms' words): what Prometheus serves is
    # the same for every scraper, whatever the exporter's language
    ("cgcloud/exporter/metrics.py", "compute"): {
        "1 when a managed project has no approved ResourceApplication for the current year"
        " (续期或关停); never deleted for it.",
    },
    ("cgcloud/exporter/metrics.py", "_exposure_families"): {
        "Ingress rules in the live cloud (any group, managed by cgcloud or not) that open"
        " SSH (TCP22) or RDP (3389) from anything but a bastion host (第十九条).",
    },
    ("cgcloud/exporter/metrics.py", "_plan_families"): {
        "Placeholders (系统名称-用途) named by live rows that no port of the system carries"
        " yet (rules and bindings wait for them).",
    },
}


def scanned_files() -> list[str]:
    return sorted(
        {p.relative_to(ROOT).as_posix() for pattern in SCANNED for p in ROOT.glob(pattern)}
    )


def test_the_scan_covers_the_files_it_names() -> None:
    files = scanned_files()
    assert "cgcloud/reports/document.py" in files and "cgcloud/exporter/metrics.py" in files
    for pattern in SCANNED:
        assert list(ROOT.glob(pattern)), f"{pattern} matches no file: a stale entry"
    for name, _fn in ALLOWED:
        assert name in files, f"{name} is not scanned: a stale entry"


@pytest.mark.parametrize("name", scanned_files())
def test_every_message_is_marked(name: str) -> None:
    assert problems((ROOT / name).read_text(encoding="utf-8"), name, ALLOWED) == []

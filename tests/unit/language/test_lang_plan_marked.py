"""Issue 13, part D: every message of the plan, the desired state, the form builder, the
model and the engines goes through the catalogs, and stays there.

The same AST scan as part B's (``test_lang_text_marked``: its parser and its rules for
what a marked message may look like), over this area's files with this area's own list of
literals that are data: a Chinese literal that is neither inside ``_()``/``N_()``/
``ngettext()``, a docstring nor listed below fails with file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_lang_text_marked import problems as scan

ROOT = Path(__file__).resolve().parents[3]

SCANNED = [  # globs under the repository root, one per line
    "cgcloud/bastion/access.py",
    "cgcloud/builder.py",
    "cgcloud/desired.py",
    "cgcloud/devcloud/cli.py",
    "cgcloud/engines/*.py",
    "cgcloud/engines/openstack/*.py",
    "cgcloud/engines/pulumi/*.py",
    "cgcloud/model.py",
    "cgcloud/plan/*.py",
]
# (file, enclosing function, "" at module level) → its Chinese literals that are data
ALLOWED = {
    # descriptions written to the cloud: the next plan compares them, in any language
    ("cgcloud/desired.py", "_project"): {"（依据 ", "）", "、"},
    ("cgcloud/engines/memory.py", "_flavor"): {"、"},
    ("cgcloud/engines/openstack/apply.py", "_flavor_step"): {"、"},
    ("cgcloud/engines/pulumi/program.py", "declare"): {"、"},
    # the Pulumi policy pack's scratch form (YAML the loader reads) and the zh row
    # reference the rules write into findings about it
    ("cgcloud/engines/pulumi/policy.py", ""): {
        "-目标",
        r"(?: 第\d+行|,? (?:row|line) \d+| \((?:row|line) \d+\))?",
    },
    ("cgcloud/engines/pulumi/policy.py", "row_verdicts"): {", note: 规则"},
    ("cgcloud/engines/pulumi/policy.py", "_form_head"): {
        "}}\n  reviewers:\n    cloud_resource_manager: {by: 甲, date: ",
        "}\n    business_leader: {by: 乙, date: ",
        "}\n    cloud_resource_leader: {by: 丙, date: ",
    },
}


def problems(source: str, name: str) -> list[str]:
    return scan(source, name, ALLOWED)


def scanned_files() -> list[str]:
    return sorted(
        {p.relative_to(ROOT).as_posix() for pattern in SCANNED for p in ROOT.glob(pattern)}
    )


def test_the_scan_covers_the_files_it_names() -> None:
    files = scanned_files()
    assert "cgcloud/plan/diff_network.py" in files and "cgcloud/engines/memory.py" in files
    for pattern in SCANNED:
        assert list(ROOT.glob(pattern)), f"{pattern} matches no file: a stale entry"
    for name, _fn in ALLOWED:
        assert name in files, f"{name} is not scanned: a stale entry"


@pytest.mark.parametrize("name", scanned_files())
def test_every_message_is_marked(name: str) -> None:
    assert problems((ROOT / name).read_text(encoding="utf-8"), name) == []


def test_the_allow_list_is_per_function() -> None:
    """A data literal is allowed where it is data, not anywhere in the file."""
    src = 'def _project(ids):\n    return "（依据 " + x\n\ndef other():\n    return "（依据 "\n'
    assert problems(src, "cgcloud/desired.py") == ["cgcloud/desired.py:5: unmarked '（依据 '"]
    bad = 'from cgcloud.i18n import _\ndef f(n):\n    return f"共 {n} 行" + _(f"{n} 条")\n'
    found = problems(bad, "x.py")
    assert any("unmarked '共 '" in p for p in found)
    assert any("f-string as a msgid" in p for p in found)

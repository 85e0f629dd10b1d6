"""Every ``help=`` of a typer option, argument or command is a marked message.

(Issue 13, part C.) Help texts written in English as plain literals would never be
translated; `test_marked.py` scans the same files for unmarked Chinese.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# one entry per line, so the other areas' lists merge without conflicts
FILES = sorted(
    [
        *(ROOT / "cgcloud" / "cli").glob("*.py"),
        ROOT / "cgcloud" / "exitcodes.py",
        ROOT / "cgcloud" / "i18n.py",
        ROOT / "cgcloud" / "devcloud" / "cli.py",
    ]
)


def unmarked_help(path: Path) -> list[str]:
    """``help=`` given as a literal (it would never be translated)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "help" and not (
                isinstance(kw.value, ast.Name)  # a constant marked where it is defined
                or (
                    isinstance(kw.value, ast.Call)
                    and isinstance(kw.value.func, ast.Name)
                    and kw.value.func.id == "N_"
                )
                or (isinstance(kw.value, ast.Attribute))  # e.g. language.LANG_HELP
            ):
                out.append(f"{path.name}:{node.lineno}: help={ast.unparse(kw.value)[:60]}")
    return out


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_help_text_is_a_message(path: Path) -> None:
    assert unmarked_help(path) == []


def test_the_scan_finds_what_it_must(tmp_path: Path) -> None:
    """The scanner itself: a marked help= passes, a literal help= does not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""模块说明。"""\n'
        "from cgcloud.i18n import N_, _\n"
        'A = _("已标记 {n}").format(n=1)\n'
        'B = N_("导入时标记")\n'
        'C = "未标记"\n'
        'D = f"错误: {A}"\n'
        'E = "、".join([A, B])\n'
        'F = dict(help="English help")\n'
        'G = dict(help=N_("帮助"))\n',
        encoding="utf-8",
    )
    assert unmarked_help(sample) == ["sample.py:8: help='English help'"]

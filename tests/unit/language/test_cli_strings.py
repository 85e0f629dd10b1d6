"""The command line's own text goes through the catalogs, and stays there.

An AST scan of the CLI's files (issue 13, part C): every string literal with Chinese
in it is a message id (an argument of `_()`, `N_()` or `ngettext()`), a docstring,
or one of the data keys listed below; no f-string carries Chinese; every ``help=``
of a typer option, argument or command is a marked message. A new unmarked message
fails here, with file and line.
"""

from __future__ import annotations

import ast
import re
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
MARKERS = {"_", "N_", "ngettext"}
# Chinese words (punctuation alone, e.g. a "、" join separator, is not a message)
HAN = re.compile(r"[\u3400-\u9fff]")
# literals that are data, not messages (YAML keys, form names the loader matches):
# the language must not change them; one per line
DATA: set[str] = set()


def _marked_or_doc(tree: ast.Module) -> set[int]:
    """ids of the string constants that are msgids or docstrings."""
    ok: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in MARKERS
        ):
            for arg in node.args:
                ok |= {id(c) for c in ast.walk(arg) if isinstance(c, ast.Constant)}
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ok.add(id(body[0].value))
    return ok


def unmarked_chinese(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    ok = _marked_or_doc(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            if any(isinstance(p, str) and HAN.search(p) for p in parts):
                out.append(f"{path.name}:{node.lineno}: f-string with Chinese")
                ok |= {id(v) for v in node.values}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and HAN.search(node.value)
            and id(node) not in ok
            and node.value not in DATA
        ):
            out.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return sorted(set(out))


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
def test_no_unmarked_chinese(path: Path) -> None:
    assert unmarked_chinese(path) == []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_help_text_is_a_message(path: Path) -> None:
    assert unmarked_help(path) == []


def test_the_scan_finds_what_it_must(tmp_path: Path) -> None:
    """The scanner itself: a marked message, a docstring and a data key pass; an
    unmarked literal, an f-string and a literal help= do not."""
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
    assert unmarked_chinese(sample) == [
        "sample.py:5: '未标记'",
        "sample.py:6: f-string with Chinese",
    ]
    assert unmarked_help(sample) == ["sample.py:8: help='English help'"]

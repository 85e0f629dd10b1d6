"""The validation wing's text goes through the catalogs, and stays there.

An AST scan of the validation wing's files (issue 13, part A): every string literal
with Chinese in it is a message id (an argument of `_()`, `N_()` or `ngettext()`), a
docstring, or one of the data literals listed below; no f-string carries Chinese. A
new unmarked message fails here, with file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "cgcloud"
# one entry per line, so the other areas' lists merge without conflicts
FILES = sorted(
    [
        *(PACKAGE / "rules").glob("*.py"),
        PACKAGE / "capping.py",
        PACKAGE / "discovery.py",
        PACKAGE / "findings.py",
        PACKAGE / "grammar.py",
        PACKAGE / "loader.py",
        PACKAGE / "report.py",
        PACKAGE / "schemas.py",
        PACKAGE / "validate.py",
    ]
)
MARKERS = {"_", "N_", "ngettext"}
# Chinese words (punctuation alone, e.g. in the address grammar's list separators, is
# not a message)
HAN = re.compile(r"[\u3400-\u9fff]")
# literals that are data, not messages: the language must not change them; one per line
DATA = {
    "<默认>/",  # the display path of the shipped site files (validate, reach); a file name
    "中文",  # the language's own name, on the link from docs/rules.en.md to docs/rules.md
}


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


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE)) for p in FILES])
def test_no_unmarked_chinese(path: Path) -> None:
    assert unmarked_chinese(path) == []


def test_the_scan_finds_what_it_must(tmp_path: Path) -> None:
    """The scanner itself: a marked message, a docstring and a data literal pass; an
    unmarked literal and an f-string with Chinese do not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""模块说明。"""\n'
        "from cgcloud.i18n import N_, _\n"
        'A = _("已标记 {n}").format(n=1)\n'
        'B = N_("导入时标记")\n'
        'C = "未标记"\n'
        'D = f"错误: {A}"\n'
        'E = _("、").join([A, B])\n'
        'F = "<默认>/"\n'
        'G = _("{a}（{b}）").format(a=A, b="未标记的参数")\n',
        encoding="utf-8",
    )
    assert unmarked_chinese(sample) == [
        "sample.py:5: '未标记'",
        "sample.py:6: f-string with Chinese",
        "sample.py:9: '未标记的参数'",
    ]


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

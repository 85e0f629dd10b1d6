"""Issue 13, part B: every message of explain, enforce, upcoming, the PR comment and the
semantic diff, reach's rendering, the bastion and the clock goes through the catalogs.

An AST scan of those modules, so the sweep cannot silently regress: a Chinese string
literal that is not inside ``_()``/``N_()``/``ngettext()`` (and is not a docstring or
one of the data literals allowed below) fails, and so does a marked literal that
Babel cannot extract (``_()`` inside an f-string: Babel on Python 3.11 does not read
f-strings) or cannot be reordered by a translator (``_(f"…")``, positional ``{}``).
The other areas of the sweep keep their own lists next to this file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCANNED = [  # globs under the repository root, one per line
    "cgcloud/bastion/*.py",
    "cgcloud/clock.py",
    "cgcloud/enforce.py",
    "cgcloud/enforce_pass.py",
    "cgcloud/explain.py",
    "cgcloud/gitops/*.py",
    "cgcloud/lifecycle.py",
    "cgcloud/reach/cache.py",
    "cgcloud/reach/render.py",
    "cgcloud/statedir.py",
    "cgcloud/textfile.py",
]
NOT_SCANNED = {  # another area's file inside a glob above
    "cgcloud/bastion/access.py",
}
# (file, enclosing function) → the Chinese literals there that are data, not messages
ALLOWED = {
    # the reclaim record's file name: a later pass in another language must find it
    ("cgcloud/enforce_pass.py", "write_record"): {"回收记录-"},
    # hashed into the reach cache key, never shown
    ("cgcloud/reach/cache.py", "key"): {"<默认>/"},
    # file content on the bastion: diff compares it, so it must not change with the language
    ("cgcloud/bastion/authorized_keys.py", "render"): {
        "（",
        "）依据 ",
        "：",
        "、",
        "；",
        " 第",
        "行",
    },
}
MARKERS = {"_", "N_", "ngettext"}
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
POSITIONAL = re.compile(r"\{\d*(?:[:!][^{}]*)?\}")


def _is_marker(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MARKERS
    )


class _Module:
    """A parsed module with each node's parent and its docstrings."""

    def __init__(self, source: str, name: str) -> None:
        self.name = name
        self.tree = ast.parse(source)
        self.parents = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.docstrings = {
            id(body[0].value)
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and (body := node.body)
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        }

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        out = []
        while node in self.parents:
            node = self.parents[node]
            out.append(node)
        return out

    def function_of(self, node: ast.AST) -> str:
        for up in self.ancestors(node):
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                return up.name
        return ""


def _marked(mod: _Module) -> tuple[set[int], list[str]]:
    """The nodes inside ``_()``/``N_()``/``ngettext()``, and the marks Babel cannot
    extract or a translator cannot reorder."""
    marked: set[int] = set()
    out: list[str] = []
    for node in ast.walk(mod.tree):
        if not _is_marker(node):
            continue
        assert isinstance(node, ast.Call)
        where = f"{mod.name}:{node.lineno}"
        in_fstring = any(isinstance(up, ast.JoinedStr) for up in mod.ancestors(node))
        for arg in node.args:
            marked.update(id(n) for n in ast.walk(arg))
            if isinstance(arg, ast.JoinedStr):
                out.append(f"{where}: an f-string as a msgid")
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue
            if POSITIONAL.search(arg.value):
                out.append(f"{where}: positional placeholder in {arg.value!r}")
            if in_fstring:
                out.append(f"{where}: {arg.value!r} marked inside an f-string (Babel misses it)")
    return marked, out


def problems(
    source: str,
    name: str = "<source>",
    allowed: dict[tuple[str, str], set[str]] | None = None,
) -> list[str]:
    """What is wrong with the messages of one module, as ``name:line: why`` lines.
    ``allowed``: (file, enclosing function or "") → its data literals (default: this
    area's); the other areas' scans pass their own."""
    allowed = ALLOWED if allowed is None else allowed
    mod = _Module(source, name)
    marked, out = _marked(mod)
    for node in ast.walk(mod.tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in marked or id(node) in mod.docstrings or not CHINESE.search(node.value):
            continue
        if node.value not in allowed.get((name, mod.function_of(node)), set()):
            out.append(f"{name}:{node.lineno}: unmarked {node.value!r}")
    return out


def scanned_files() -> list[str]:
    files = {
        path.relative_to(ROOT).as_posix() for pattern in SCANNED for path in ROOT.glob(pattern)
    }
    return sorted(files - NOT_SCANNED)


def test_the_scan_covers_the_files_it_names() -> None:
    files = scanned_files()
    assert "cgcloud/explain.py" in files and "cgcloud/gitops/comment.py" in files
    for pattern in SCANNED:
        assert list(ROOT.glob(pattern)), f"{pattern} matches no file: a stale entry"
    for name in NOT_SCANNED | {f for f, _ in ALLOWED}:
        assert (ROOT / name).is_file(), f"{name} is gone: a stale entry"


@pytest.mark.parametrize("name", scanned_files())
def test_every_message_is_marked(name: str) -> None:
    assert problems((ROOT / name).read_text(encoding="utf-8"), name) == []


def test_the_scan_finds_what_it_must() -> None:
    """The scan itself can fail: each kind of mistake is reported, a correct module is not."""
    bad = '''
def f(n, msg):
    """文档字符串不是消息。"""
    a = "未标记的中文"
    b = f"共 {n} 行"
    c = f"| {_('警告')} | {n} |"
    d = _(f"检查了 {n} 个文件")
    e = _("第{}行").format(n)
    return a, b, c, d, e
'''
    found = problems(bad)
    assert any("unmarked '未标记的中文'" in p for p in found)
    assert any("unmarked '共 '" in p for p in found)
    assert any("'警告' marked inside an f-string" in p for p in found)
    assert any("an f-string as a msgid" in p for p in found)
    assert any("positional placeholder" in p for p in found)
    assert not any("文档字符串" in p for p in found)
    good = '''
from cgcloud.i18n import N_, _, ngettext
LABEL = N_("普通")
def f(n):
    """文档字符串。"""
    return _("检查了 {n} 个文件").format(n=n) + ngettext("{n} 天", "{n} 天", n).format(n=n)
'''
    assert problems(good) == []

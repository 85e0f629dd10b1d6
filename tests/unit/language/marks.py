"""The AST scan behind issue 13's guarantee that every message goes through the catalogs.

A Chinese string literal (CJK punctuation too: a ``、`` joining shown text is a message)
that is not inside ``_()``/``N_()``/``ngettext()``, not a docstring and not one of an
area's listed data literals is reported; so is a marked literal Babel cannot extract
(``_()`` inside an f-string: Babel on Python 3.11 does not read f-strings) or a
translator cannot reorder (``_(f"…")``, positional ``{}``). `test_marked.py` runs it
over every area of the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
    ``allowed``: (file, enclosing function or "") → its data literals."""
    allowed = allowed or {}
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


def files(
    root: Path, patterns: list[str], leave_out: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The files ``patterns`` (globs under ``root``) name, as posix paths, less ``leave_out``."""
    found = {p.relative_to(root).as_posix() for pattern in patterns for p in root.glob(pattern)}
    return sorted(found - set(leave_out))

"""Policy files → documents (plain JSON-like data) that remember where they came from.

Why rapidyaml: PyYAML and ruamel need 6–27 s for a 50,000-row repository; rapidyaml
parses it in ~0.2 s. Values come out through rapidyaml's JSON emitter and the C
``json`` module (fast), while exact positions are recovered lazily, only for the
nodes a finding points at: with ``parse_in_place`` every key and value of the tree
is a view into the source buffer, so its byte offset gives line and column.

Everything that can go wrong with a file becomes a finding with a location, never
a traceback: non-UTF-8 or binary bytes, tabs, YAML syntax errors, duplicate keys,
anchors/aliases/tags (forms must read as signed; aliases also make "billion laughs"
size bombs possible), empty files, oversized files.
"""

from __future__ import annotations

import bisect
import ctypes
import json
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ryml

from cgcloud.discovery import POLICY_SUFFIXES, UsageError, discover
from cgcloud.findings import Finding, Severity
from cgcloud.i18n import N_, _


def _max_file_bytes() -> tuple[int, str]:
    """$CGCLOUD_MAX_FILE_BYTES (default 32 MiB), and the problem with it if it is not a
    positive whole number (reported as a usage error by ``load``, not at import)."""
    raw = os.environ.get("CGCLOUD_MAX_FILE_BYTES", "").strip()
    default = 32 * 1024 * 1024
    if not raw:
        return default, ""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        return default, _(
            "环境变量 CGCLOUD_MAX_FILE_BYTES 无效: {raw!r}（应为正整数，单位字节）"
        ).format(raw=raw[:40])
    return value, ""


MAX_FILE_BYTES, _MAX_FILE_BYTES_PROBLEM = _max_file_bytes()
MAX_TAB_FINDINGS = 5
_STRIDE = 4096  # bytes between column checkpoints of a long line
MAX_DEPTH = 64  # rapidyaml's emitter stops there; a form has fewer than 10 levels
_BOM = b"\xef\xbb\xbf"
__all__ = ["POLICY_SUFFIXES", "UsageError", "load", "load_file"]
NONE = ryml.NONE

_SPECIAL = re.compile(rb"(?:^|[\s\[{,])[&*!][^\s,\]}]", re.MULTILINE)


# --------------------------------------------------------------------------- buffer addresses


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]


def _address(obj: Any) -> int:
    """The memory address of a buffer-protocol object (read-only views included)."""
    view = _PyBuffer()
    _get_buffer(obj, ctypes.byref(view), 0)
    try:
        return int(view.buf or 0)
    finally:
        _release_buffer(ctypes.byref(view))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int


class SourceFile:
    """One policy file: its bytes, its rapidyaml tree, and a line index built on demand."""

    def __init__(self, path: Path, display: str, raw: bytes) -> None:
        self.path = path
        self.display = display
        self.raw = raw
        self.buffer = bytearray(raw)
        self.tree: Any = None
        self._base = 0
        self._line_starts: list[int] | None = None
        self._seq_children: dict[int, list[int]] = {}
        self._map_children: dict[int, dict[bytes, int]] = {}
        self._marks: dict[int, list[tuple[int, int]]] = {}
        self._text: str | None = None

    def position_of(self, offset: int) -> Position:
        """1-based line and column (in characters) of a byte offset of the original file.

        Linear in the number of findings, even on one very long line: a column is
        counted from the nearest checkpoint (every ``_STRIDE`` bytes of that line, at a
        character boundary, with its character count), never from the line's start."""
        if self._line_starts is None:
            starts = [0]
            find = self.raw.find
            i = find(b"\n")
            while i >= 0:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._line_starts = starts
        offset = max(0, min(offset, len(self.raw)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        start = self._line_starts[line]
        if offset - start > _STRIDE:
            marks = self._checkpoints(line, start)
            k = bisect.bisect_right(marks, (offset, 1 << 62)) - 1
            start, chars = marks[k]
        else:
            chars = 0
        column = chars + len(self.raw[start:offset].decode("utf-8", "replace")) + 1
        return Position(line + 1, column)

    def _checkpoints(self, line: int, start: int) -> list[tuple[int, int]]:
        """(byte offset, characters before it) every ~_STRIDE bytes of one long line."""
        marks = self._marks.get(line)
        if marks is None:
            assert self._line_starts is not None
            starts = self._line_starts
            end = starts[line + 1] if line + 1 < len(starts) else len(self.raw)
            raw = self.raw
            marks = [(start, 0)]
            pos, chars = start, 0
            while pos + _STRIDE < end:
                nxt = pos + _STRIDE
                while nxt < end and (raw[nxt] & 0xC0) == 0x80:  # not inside a character
                    nxt += 1
                chars += len(raw[pos:nxt].decode("utf-8", "replace"))
                marks.append((nxt, chars))
                pos = nxt
            self._marks[line] = marks
        return marks

    @property
    def text(self) -> str:
        """The file as text (decoded once, for the rare callers that search it)."""
        if self._text is None:
            self._text = self.raw.decode("utf-8", "replace")
        return self._text

    def parse(self) -> None:
        self.tree = _parse_quietly(self.buffer)
        self._base = _address(self.buffer)

    # -- node positions -------------------------------------------------------------

    def _offset(self, view: Any) -> int | None:
        if view is None or len(view) == 0:
            return None
        return _address(view) - self._base

    def node_position(self, node: int, prefer_key: bool = False) -> Position | None:
        """Position of a node: its value for scalars, else its key, else its first descendant."""
        t = self.tree
        candidates = []
        if t.has_key(node):
            candidates.append(t.key(node))
        if t.has_val(node) and not t.is_container(node):
            candidates.insert(0 if not prefer_key else 1, t.val(node))
        for view in candidates:
            off = self._offset(view)
            if off is not None and 0 <= off <= len(self.raw):
                return self.position_of(off)
        child = t.first_child(node) if t.is_container(node) else NONE
        if child != NONE:
            return self.node_position(child, prefer_key=True)
        return None

    def child(self, node: int, step: str | int) -> int:
        """The child of a map (by key) or a sequence (by index); NONE when absent."""
        t = self.tree
        if isinstance(step, int):
            if not t.is_seq(node):
                return NONE
            kids = self._seq_children.get(node)
            if kids is None:
                kids = []
                c = t.first_child(node)
                while c != NONE:
                    kids.append(c)
                    c = t.next_sibling(c)
                self._seq_children[node] = kids
            return kids[step] if 0 <= step < len(kids) else NONE
        if not t.is_map(node):
            return NONE
        keys = self._map_children.get(node)
        if keys is None:  # built once per mapping a finding points into: O(1) lookups after
            keys = {}
            c = t.first_child(node)
            while c != NONE:
                keys.setdefault(bytes(t.key(c)), c)
                c = t.next_sibling(c)
            self._map_children[node] = keys
        return keys.get(step.encode(), NONE)


@dataclass(slots=True)
class Document:
    """One YAML document of a file, as plain data, able to say where any of its parts is."""

    source: SourceFile
    index: int
    node: int
    data: Any

    @property
    def file(self) -> str:
        return self.source.display

    def locate(self, path: Iterable[str | int] = (), key: bool = False) -> Position:
        """Where ``path`` (keys and indexes from the document root) is; the deepest
        existing ancestor when the path ends in something absent (a missing key
        points at the mapping that should hold it)."""
        src = self.source
        node = self.node
        found_all = True
        for step in path:
            nxt = src.child(node, step)
            if nxt == NONE:
                found_all = False
                break
            node = nxt
        pos = src.node_position(node, prefer_key=key or not found_all)
        return pos or Position(1, 1)


@dataclass(frozen=True, slots=True)
class Unloaded:
    """A file or document that failed to load: which kinds it seems to hold (None: any)
    and its text (None: unread), so that rules about a *missing* form can tell "absent"
    from "present but broken" and stay quiet about the latter (no follow-on findings)."""

    file: str
    kinds: frozenset[str] | None
    text: str | None

    @classmethod
    def of(cls, file: str, raw: bytes | None) -> Unloaded:
        if raw is None:
            return cls(file, None, None)
        text = raw.decode("utf-8", "replace")
        kinds = frozenset(_KIND.findall(text))
        return cls(file, kinds or None, text)

    def might_hold(self, kinds: Iterable[str], ident: str | None = None) -> bool:
        if self.kinds is not None and not self.kinds.intersection(kinds):
            return False
        return ident is None or self.text is None or ident in self.text


_KIND = re.compile(r"""(?:^|[{,\s])["']?kind["']?\s*:\s*["']?([A-Za-z]+)""")


@dataclass(slots=True)
class LoadResult:
    """What was loaded: good documents, findings, every policy path found (``files``:
    read or reported) and how many of them were read."""

    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    read: int = 0
    failed: list[Unloaded] = field(default_factory=list)


# --------------------------------------------------------------------------- loading


def load(paths: Iterable[str | Path]) -> LoadResult:
    """Read every policy file under ``paths``; problems become findings, and every
    policy path found is either read or reported (cgcloud/discovery.py)."""
    if _MAX_FILE_BYTES_PROBLEM:
        raise UsageError(_MAX_FILE_BYTES_PROBLEM)
    result = LoadResult()
    given = list(paths)
    found = discover(given)
    result.findings.extend(found.findings)
    result.files.extend(found.reported)
    result.failed.extend(Unloaded.of(shown, None) for shown in found.reported)
    if not found.files and not found.findings:
        for g in given:
            result.findings.append(
                Finding(
                    "CG007",
                    Severity.ERROR,
                    _("{g} 中没有找到策略文件（*.yaml / *.yml）").format(g=g),
                    file=Path(g).as_posix(),
                    hint=_("请指向策略仓库目录，例如 cgcloud validate policies/"),
                )
            )
        return result
    for path, shown in found.files:
        result.files.append(shown)
        load_file(path, shown, result)
    return result


def _read(path: Path) -> bytes:
    """The bytes of a regular file, without ever blocking on a FIFO or a device
    (opened non-blocking, then checked on the open descriptor: no race with a swap)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular()
        if st.st_size > MAX_FILE_BYTES:
            raise _TooLarge(st.st_size)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_FILE_BYTES:  # grew while being read
                raise _TooLarge(sum(map(len, chunks)))
        return b"".join(chunks)
    finally:
        os.close(fd)


class _NotRegular(Exception):
    pass


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def load_file(path: Path, display: str, result: LoadResult) -> None:
    raw: bytes | None = None
    failed = False

    def fail(rule: str, message: str, hint: str = "", pos: Position = Position(1, 1)) -> None:
        nonlocal failed
        result.findings.append(
            Finding(rule, Severity.ERROR, message, display, pos.line, pos.column, hint)
        )
        if not failed:
            failed = True
            result.failed.append(Unloaded.of(display, raw))

    try:
        raw = _read(path)
    except _TooLarge as exc:
        fail(
            "CG008",
            _("文件过大（{size:.1f} MiB，上限 {limit:.0f} MiB），未读取").format(
                size=exc.size / 1048576, limit=MAX_FILE_BYTES / 1048576
            ),
            _("请把表单拆分为多个文件；如确需更大的文件，设置环境变量 CGCLOUD_MAX_FILE_BYTES"),
        )
        return
    except _NotRegular:
        fail("CG009", _("不是普通文件（目录、FIFO、套接字或设备），未读取"), _("请指定 YAML 文件"))
        return
    except OSError as exc:
        fail(
            "CG002",
            _("无法读取文件: {reason}").format(reason=exc.strerror or exc),
            _("请检查该文件及其上级目录的权限（目录需要 r-x，文件需要 r）"),
        )
        return
    result.read += 1
    if raw.startswith(_BOM):
        raw = raw[
            len(_BOM) :
        ]  # Windows Notepad's UTF-8 mark: not content, positions as editors show

    src = SourceFile(path, display, raw)
    if not _check_bytes(src, fail):
        return
    if _only_comments(raw):
        result.findings.append(
            Finding(
                "CG006",
                Severity.WARNING,
                _("文件为空（没有任何表单）"),
                display,
                hint=_("删除该文件，或写入带有 apiVersion: cgcloud/v1 和 kind 的表单"),
            )
        )
        return
    tab = raw.find(b"\t")
    if tab >= 0:
        for n, off in enumerate(m.start() for m in re.finditer(rb"\t", raw)):
            if n >= MAX_TAB_FINDINGS:
                break
            fail(
                "CG003",
                _("文件含有制表符（Tab）"),
                _("YAML 缩进只能用空格；请把 Tab 替换为空格"),
                src.position_of(off),
            )
        return
    with _quiet_stderr():  # rapidyaml reports errors on C stderr before raising
        try:
            src.parse()
        except _ParseError as exc:
            fail(
                "CG001",
                _("YAML 语法错误: {message}").format(message=exc.message),
                _("请检查该位置附近的缩进、引号和括号"),
                exc.position(src),
            )
            return
        _documents(src, raw, result, fail)


def _documents(src: SourceFile, raw: bytes, result: LoadResult, fail: Any) -> None:
    """Each document of a parsed file: audited when it may hold anchors/tags, then
    converted to plain data through rapidyaml's JSON emitter."""
    # the regex walks the whole buffer; most files have none of the three bytes at all
    special = (b"&" in raw or b"*" in raw or b"!" in raw) and bool(_SPECIAL.search(raw))
    tree = src.tree
    root = tree.root_id()
    doc_nodes = list(ryml.children(tree, root)) if tree.is_stream(root) else [root]
    for index, node in enumerate(doc_nodes):
        doc = Document(src, index, node, None)
        if special:
            problems = list(_audit(src, node))
            if problems:
                for rule, message, hint, pos in problems:
                    fail(rule, message, hint, pos)
                continue
        duplicates: list[str] = []
        try:
            text = ryml.emit_json(tree, node)
            doc.data = json.loads(
                text, object_pairs_hook=_pairs_hook(duplicates), parse_int=_parse_int(raw)
            )
        except ryml.ExceptionVisit as exc:
            too_deep = "depth" in str(getattr(exc, "msg", ""))
            where = getattr(getattr(exc, "errdata_visit", None), "node", None)
            pos = doc.locate()
            if isinstance(where, int) and where != NONE and 0 <= where < tree.size():
                pos = src.node_position(where, prefer_key=True) or pos
            reason = (
                _("嵌套层数过深（超过 {n} 层；表单最多只有几层）").format(n=MAX_DEPTH)
                if too_deep
                else str(getattr(exc, "msg", "") or type(exc).__name__)
            )
            fail(
                "CG001",
                _("无法读取该文档: {reason}").format(reason=reason),
                _("请检查缩进和括号是否成对"),
                pos,
            )
            continue
        except _HugeNumber as exc:
            fail(
                "CG001",
                _("数字过长（{n} 位），不是表单中的数值").format(n=exc.digits),
                _("请检查该值；编号、电话等请加引号写成字符串"),
                src.position_of(exc.offset),
            )
            continue
        except (ValueError, RecursionError, ryml.ExceptionBasic) as exc:
            reason = str(getattr(exc, "msg", "") or exc) or type(exc).__name__
            fail(
                "CG001",
                _("无法读取该文档: {reason}").format(reason=reason),
                _("请检查 YAML 语法"),
                doc.locate(),
            )
            continue
        if duplicates:
            for rule, message, hint, pos in _audit(src, node):
                fail(rule, message, hint, pos)
            continue
        if doc.data is None and len(doc_nodes) > 1:
            continue  # an empty document between `---` separators
        result.documents.append(doc)


_LINE = re.compile(rb"[^\r\n]*")


def _only_comments(raw: bytes) -> bool:
    """True when no line holds anything but blanks, comments and document markers
    (stops at the first line with content, so a 10 MB file costs nothing here)."""
    for m in _LINE.finditer(raw):
        line = m.group().strip()
        if line and not line.startswith(b"#") and line not in (b"---", b"..."):
            return False
    return True


def _check_bytes(src: SourceFile, fail: Any) -> bool:
    raw = src.raw
    nul = raw.find(b"\x00")
    if nul >= 0:
        fail(
            "CG002",
            _("这是二进制文件（含有 NUL 字节），不是 YAML 表单"),
            _("请从策略仓库中移除该文件，或改用其他扩展名"),
            src.position_of(nul),
        )
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(
            "CG002",
            _("文件不是有效的 UTF-8 编码（第 {start} 字节: 0x{byte:02x}）").format(
                start=exc.start, byte=raw[exc.start]
            ),
            _("请用 UTF-8 保存该文件（例如用编辑器“另存为 UTF-8”，或 iconv -f GBK -t UTF-8）"),
            src.position_of(exc.start),
        )
        return False
    return True


class _HugeNumber(Exception):
    def __init__(self, digits: int, offset: int) -> None:
        super().__init__(digits)
        self.digits, self.offset = digits, offset


def _parse_int(raw: bytes) -> Any:
    """``int`` for json, except that a number too long for Python's int conversion
    limit (4,300 digits) becomes a finding at the number instead of an English error."""

    def parse(text: str) -> int:
        if len(text) < 4000:
            return int(text)
        digits = text.lstrip("-")
        m = re.search(rb"\d{%d}" % min(len(digits), 4000), raw)
        raise _HugeNumber(len(digits), m.start() if m else 0)

    return parse


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pairs_hook(duplicates: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            duplicates.append("dup")
        return d

    return hook


def _audit(src: SourceFile, node: int) -> Iterator[tuple[str, str, str, Position]]:
    """Slow walk over one document for duplicate keys, anchors, aliases and tags."""
    t = src.tree
    stack = [node]
    while stack:
        n = stack.pop()
        pos = src.node_position(n, prefer_key=True) or Position(1, 1)
        if t.has_key_anchor(n) or t.has_val_anchor(n) or t.is_key_ref(n) or t.is_val_ref(n):
            yield (
                "CG005",
                _("不支持 YAML 锚点/别名（& 与 *）"),
                _("表单须按签署时的样子逐项写出；请展开别名引用的内容"),
                pos,
            )
        if t.has_key_tag(n) or t.has_val_tag(n):
            yield ("CG005", _("不支持 YAML 标签（!tag）"), _("请删除标签，直接写值"), pos)
        if t.is_map(n):
            seen: dict[bytes, int] = {}
            c = t.first_child(n)
            while c != NONE:
                k = bytes(t.key(c))
                if k in seen:
                    first = src.node_position(seen[k], prefer_key=True) or Position(1, 1)
                    yield (
                        "CG004",
                        _("重复的键 {key!r}（首次出现在第 {first_line} 行）").format(
                            key=_clip(k.decode("utf-8", "replace")), first_line=first.line
                        ),
                        _("同一映射中每个键只能出现一次；请合并或删除重复项"),
                        src.node_position(c, prefer_key=True) or Position(1, 1),
                    )
                else:
                    seen[k] = c
                c = t.next_sibling(c)
        if t.is_container(n):
            stack.extend(reversed(list(ryml.children(t, n))))


# --------------------------------------------------------------------------- quiet parsing


class _ParseError(Exception):
    def __init__(self, message: str, line: int, column: int, offset: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.offset = offset

    def position(self, src: SourceFile) -> Position:
        if self.offset is not None and 0 <= self.offset <= len(src.raw):
            return src.position_of(self.offset)
        return Position(max(1, self.line), max(1, self.column))


_PARSE_MESSAGES = {
    "parse error": N_("无法解析"),
    "parse error: incorrect indentation?": N_("缩进不正确"),
    "two colons on same line": N_("同一行出现两个冒号（值中含冒号时请加引号）"),
    "reached end of file while looking for closing quote": N_("引号没有闭合"),
    "ryml trees cannot handle containers as keys": N_("不支持以列表或映射作为键"),
    "multiline scalars cannot be used as implicit keys": N_(
        "键不能跨行（是否漏了冒号后的空格或缩进不对？）"
    ),
    "bad indentation": N_("缩进不正确"),
    "could not find ':' colon after key": N_("键后面缺少冒号 ':'"),
    "invalid scalar": N_("无效的值"),
    "parse error: invalid token": N_("无法识别的内容"),
    "multiline quoted keys are invalid": N_("带引号的键不能跨行"),
    "parse error: invalid comment after comma": N_("逗号后的注释无效（# 前需要空格）"),
    "block map: folded keys must be enclosed in '?'": N_("不支持折叠（>）形式的键"),
    "block map: literal keys must be enclosed in '?'": N_("不支持字面（|）形式的键"),
    "unexpected comma": N_("多余的逗号"),
    "invalid tag": N_("不支持 YAML 标签（!tag）"),
    "comment not preceded by whitespace": N_("注释符 # 前需要空格"),
}
_PARSE_PATTERNS = (
    (re.compile(r"invalid character: '(?P<char>.)'"), N_("此处不能出现字符 '{char}'")),
    (re.compile(r"missing terminating (?P<char>.)"), N_("缺少闭合的 {char}")),
)


def _parse_message(msg: str) -> str:
    """rapidyaml's English error in the user's language; an unknown one is kept (with its prefix)."""
    if msg in _PARSE_MESSAGES:
        return _(_PARSE_MESSAGES[msg])
    for pattern, text in _PARSE_PATTERNS:
        m = pattern.fullmatch(msg)
        if m:
            return _(text).format(**m.groupdict())
    return msg


_SINK: Any = None


def _sink() -> Any:
    """One scratch file per process for rapidyaml's error report (creating a temporary
    file per policy file cost ~0.3 s for 400 files)."""
    global _SINK
    if _SINK is None:
        _SINK = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
    return _SINK


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a scratch file while rapidyaml runs: it prints its error
    reports (C++ source lines) there before raising, and nothing of that is for users
    (rapidyaml's Python API has no error callback). Process-wide, so serialised; another
    thread's stderr output during one file's parse (milliseconds) lands in the sink."""
    fd = 2  # C++ writes to descriptor 2, whatever Python's sys.stderr is at the moment
    with _QUIET:  # one at a time: two overlapping swaps would leave fd 2 on the sink for good
        try:
            saved = os.dup(fd)
        except OSError:  # no descriptor 2 at all: nothing to protect
            yield
            return
        sink = _sink()
        with suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            sink.truncate()


_QUIET = threading.RLock()


def _parse_quietly(buffer: bytearray) -> Any:
    """Parse in place; a rapidyaml error becomes a _ParseError with its position."""
    try:
        return ryml.parse_in_place(buffer)
    except ryml.ExceptionBasic as exc:
        msg = str(getattr(exc, "msg", "") or "parse error")
        line = column = 1
        offset: int | None = None
        data = getattr(exc, "errdata_parse", None)
        loc = getattr(data, "ymlloc", None)
        if loc is not None:
            line, column = int(loc.line), int(loc.col)
            offset = int(loc.offset)
        raise _ParseError(_parse_message(msg), line, column, offset) from None

"""Help pages whose Chinese lines fit the terminal: the usage prefix and the wrapping.

Why our own wrapping: click wraps with `textwrap`, which breaks only at spaces and
counts characters, not terminal columns. A Chinese sentence has no spaces and each of
its characters takes two columns, so click prints Chinese help lines up to twice the
terminal's width and cuts an English word inside them wherever the count runs out.
Here a line may break between any two Chinese characters (never before closing
punctuation, never inside an ASCII word) and is measured in columns
(`unicodedata.east_asian_width`, the standard library's table). Text without wide
characters, and all English help, still goes through click's own wrapping, unchanged.
The maintained wrapping libraries (textwrap, click's) have no CJK mode; the one
package that adds it (cjkwrap) has not been maintained since 2016.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

try:  # typer 0.2x ships its own copy of click: its formatter is the one the app uses
    from typer._click.formatting import HelpFormatter, wrap_text
except ImportError:  # pragma: no cover - older typer on the real click
    from click.formatting import HelpFormatter, wrap_text  # type: ignore[assignment]

from cgcloud import i18n
from cgcloud.i18n import _

# an ASCII word (with its punctuation), a run of spaces, or any one other character
_TOKEN = re.compile(r"[\x21-\x7e]+| +|.")
_NO_LINE_START = set("，。、；：！？）》」』”’…")
_NO_LINE_END = set("（《「『“‘")


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def is_wide(text: str) -> bool:
    """Chinese text to wrap by columns: in English a name such as 互联网公网 inside a
    sentence is one word, which click's wrapping keeps whole."""
    return i18n.current() == "zh" and any(unicodedata.east_asian_width(c) in "WF" for c in text)


def fill(text: str, width: int) -> list[str]:
    """One paragraph as lines of at most ``width`` columns. A closing mark never starts
    a line and an opening bracket never ends one: the character next to it moves to
    the next line too. An ASCII word wider than a line (a URL) gets a line of its own."""
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for token in _TOKEN.findall(" ".join(text.split())):
        size = columns(token)
        if token.isspace():
            if line and used + size < width:
                line.append(token)
                used += size
            continue
        if line and used + size > width:
            cut = len(line) - 1 if token in _NO_LINE_START else len(line)
            while cut > 1 and line[cut - 1] in _NO_LINE_END:
                cut -= 1
            cut = max(cut, 1)
            lines.append("".join(line[:cut]).rstrip())
            line = [t for t in line[cut:] if not t.isspace()] if cut < len(line) else []
            used = columns("".join(line))
        line.append(token)
        used += size
    lines.append("".join(line).rstrip())
    return lines


def wrap(text: str, width: int, indent: str = "") -> str:
    """click's ``wrap_text(preserve_paragraphs=True)`` for wide text: paragraphs split
    at blank lines keep their own indentation (examples)."""
    out = []
    for paragraph in text.split("\n\n"):
        first = paragraph.split("\n", 1)[0]
        lead = indent + " " * (len(first) - len(first.lstrip()))
        lines = fill(paragraph, max(width - len(lead), 10))
        out.append("\n".join(lead + line for line in lines))
    return "\n\n".join(out)


class Formatter(HelpFormatter):
    """click's help formatter, with the usage prefix in the chosen language and wide
    text wrapped by columns."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("用法：") + " " if prefix is None else prefix)

    def write_text(self, text: str) -> None:
        if not is_wide(text):
            super().write_text(text)
            return
        self.write(wrap(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        """As click lays a definition list out (options, commands), wide text by columns."""
        rows = list(rows)
        first_col = min(max((len(first) for first, _ in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            if is_wide(second):
                lines = wrap(second, text_width).splitlines()
            else:
                lines = wrap_text(second, text_width, preserve_paragraphs=True).splitlines()
            lines = lines or [""]
            pad = " " * (first_col + self.current_indent)
            self.write("\n".join([lines[0], *(pad + line for line in lines[1:])]) + "\n")

"""`--lang zh|en` and every `--help` text in the chosen language.

Why at run time and not at import: typer stores each ``help=`` when the module is
imported, long before argv is parsed, so a help text translated there would be in
whatever language was current at import (and stay so for every later invocation in
a test process). Instead the command modules mark their help texts with ``N_()``
(the Chinese msgid), and the root group, once per invocation, (1) reads ``--lang``
from argv before click parses anything, (2) chooses the language (``--lang``, then
$CGCLOUD_LANG, then the locale: `cgcloud.i18n.resolve`) and (3) replaces every help
text of the freshly built click tree by its translation. A usage error about argv
itself is therefore already in the chosen language.

``--lang`` is an option of the root command (``cgcloud --lang en validate``) that
`prepare` also gives every subcommand, so ``cgcloud validate --lang en`` works too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import typer

from cgcloud import i18n
from cgcloud.cli.helpformat import Formatter
from cgcloud.i18n import N_, _

OPTION = "--lang"
_MSGID = "_cgcloud_msgid"  # where a param or command keeps its untranslated help

# typer's own help texts are plain English: the click it bundles has no gettext
_TYPER_HELP = {
    "Show this message and exit.": N_("显示本帮助并退出。"),
    "Install completion for the current shell.": N_("为当前 shell 安装命令补全。"),
    "Show completion for the current shell, to copy it or customize the installation.": N_(
        "显示当前 shell 的补全脚本，以便复制或自定义安装。"
    ),
    "Install completion for the specified shell.": N_("为指定的 shell 安装命令补全。"),
    "Show completion for the specified shell, to copy it or customize the installation.": N_(
        "显示指定 shell 的补全脚本，以便复制或自定义安装。"
    ),
}
LANG_HELP = N_("界面语言：zh（中文）或 en（英文）；优先于环境变量 CGCLOUD_LANG 与 LANG。")


class BadEnvironment(Exception):
    """$CGCLOUD_LANG names a language cgcloud has no catalog for (a usage error)."""


def from_argv(argv: Sequence[str]) -> str | None:
    """The value of the last ``--lang X`` / ``--lang=X`` before ``--`` (click: the last
    occurrence wins); None when absent or given without a value."""
    value = None
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            break
        if token == OPTION:
            value = next(tokens, None)
        elif token.startswith(OPTION + "="):
            value = token[len(OPTION) + 1 :]
    return value


def choose(argv: Sequence[str]) -> str:
    """Speak the language argv and the environment ask for, from now on.

    A bad ``--lang`` value is left to click to report (as a usage error), in the
    language chosen without it. A bad $CGCLOUD_LANG without a good ``--lang`` raises
    `BadEnvironment` after choosing the default, so that the message is readable."""
    explicit = from_argv(argv)
    try:
        return i18n.setup(i18n.resolve(explicit))
    except i18n.UnknownLanguage:
        pass
    try:
        return i18n.setup(i18n.resolve(None))
    except i18n.UnknownLanguage as exc:
        i18n.setup(i18n.DEFAULT)
        if explicit is None:
            raise BadEnvironment(str(exc)) from None
        return i18n.DEFAULT


def check(value: str | None) -> str | None:
    """``--lang``'s callback: refuse a language without a catalog (the choice itself
    was made from argv by `choose`, before click parsed anything)."""
    if value is None:
        return None
    try:
        if value.strip():
            return i18n.resolve(value, {})
    except i18n.UnknownLanguage:
        pass
    raise typer.BadParameter(_("未知的语言 {value!r}，可选: zh、en").format(value=value))


class LocalContext(typer.Context):
    """A context whose help page speaks the chosen language: its formatter (usage
    prefix, Chinese wrapped by columns), and the help option (made by click per
    command, on first use) translated."""

    formatter_class = Formatter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        help_option = self.command.get_help_option(self)
        if help_option is not None:
            _translate(help_option)


def commands(root: Any) -> Iterator[Any]:
    """``root`` and every command under it, depth first."""
    yield root
    for sub in getattr(root, "commands", {}).values():
        yield from commands(sub)


def prepare(root: Any) -> None:
    """Give every command the root's ``--lang`` and its help texts in the current
    language. (A parameter holds no per-invocation state: one object serves all.)"""
    lang = [p for p in root.params if OPTION in getattr(p, "opts", ())]
    for cmd in commands(root):
        if not any(OPTION in getattr(p, "opts", ()) for p in cmd.params):
            cmd.params.extend(lang)
        cmd.context_class = LocalContext
        for item in (cmd, *cmd.params):
            _translate(item)
        chinese = i18n.current() == "zh"
        cmd.short_help = short(cmd.help) if cmd.help and chinese else None  # en: click's


def short(text: str, width: int = 60) -> str:
    """The one line a command list shows for Chinese help. click's shortening counts
    words between spaces and ends at ". ", so a Chinese sentence (no spaces, "。") would
    become "..."; here: the first sentence, else cut at a pause (or between words)
    before ``width`` terminal columns (a Chinese character takes two)."""
    first = text.split("\n\n", 1)[0].replace("\n", "")
    sentence = first.split("。", 1)[0]
    columns, end = 0, len(sentence)
    for i, char in enumerate(sentence):
        columns += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if columns > width:
            end = i
            break
    if end == len(sentence):
        return sentence
    pause = max(sentence.rfind(mark, 0, end) for mark in "，；：、（")
    if pause > end // 2:
        return sentence[:pause] + "…"
    while end > 0 and sentence[end - 1].isascii() and sentence[end - 1].isalnum():
        end -= 1  # not inside a word or a name
    return sentence[:end].rstrip() + "…"


def _translate(item: Any) -> None:
    """Replace ``item.help`` by its translation, keeping the msgid for the next call
    (a test process runs one click tree in several languages)."""
    if not hasattr(item, _MSGID):
        setattr(item, _MSGID, getattr(item, "help", None))
    msgid = getattr(item, _MSGID)
    if msgid:
        item.help = _(_TYPER_HELP.get(msgid, msgid))

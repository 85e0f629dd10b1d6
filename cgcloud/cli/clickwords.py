"""click's and typer's usage-error sentences, in the chosen language.

Why: the click that typer 0.2x bundles has no gettext, and typer's own value checks
answer in English ("Input should be a valid integer"). A usage error is what a user
meets first, so it is rebuilt here from the exception's parts (which option, which
value) through the catalogs; a sentence not recognised is shown as typer words it,
so a newer typer can only make a message less translated, never lose it.
"""

from __future__ import annotations

import re
from typing import Any

try:  # typer 0.2x ships its own copy of click; its exceptions are the ones raised
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as cx  # type: ignore[no-redef]

from cgcloud.i18n import N_, _

# (typer's English, as a pattern with named parts) → our message id; one per line
SENTENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Option '(?P<name>[^']+)' requires an argument\."), N_("选项 {name} 需要一个值")),
    (
        re.compile(r"Option '(?P<name>[^']+)' requires (?P<n>\d+) arguments\."),
        N_("选项 {name} 需要 {n} 个值"),
    ),
    (re.compile(r"Option '(?P<name>[^']+)' does not take a value\."), N_("选项 {name} 不接受值")),
    (
        re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)"),
        N_("多余的参数: {args}"),
    ),
    (re.compile(r"Input should be a valid integer.*"), N_("应为整数")),
    (re.compile(r"Input should be a valid number.*"), N_("应为数字")),
    (re.compile(r"Input should be greater than or equal to (?P<n>\S+)"), N_("应大于或等于 {n}")),
    (re.compile(r"Input should be less than or equal to (?P<n>\S+)"), N_("应小于或等于 {n}")),
    (re.compile(r"Input should be greater than (?P<n>\S+)"), N_("应大于 {n}")),
    (re.compile(r"Input should be less than (?P<n>\S+)"), N_("应小于 {n}")),
    (
        re.compile(r"(?:Value error, )?(?P<value>.+) is not one of (?P<choices>.+)\."),
        N_("{value} 不是可选值之一: {choices}"),
    ),
]
_SUGGESTION = re.compile(r"(?P<message>.*?)[。.]* Did you mean (?P<names>.+)\?", re.S)


def reword(sentence: str) -> str:
    """``sentence`` in the chosen language when it is one typer says; else as it is."""
    suggestion = _SUGGESTION.fullmatch(sentence)
    if suggestion is not None:  # typer appends it to "No such command" in English
        return reword(suggestion["message"]) + _("（是否想用: {names}？）").format(
            names=suggestion["names"]
        )
    for pattern, msgid in SENTENCES:
        match = pattern.fullmatch(sentence.strip())
        if match is not None:
            return _(msgid).format(**match.groupdict())
    return sentence


def describe(exc: cx.UsageError) -> str:
    """What is wrong in a usage error, in the chosen language."""
    if isinstance(exc, cx.NoSuchOption):
        what = _("没有选项 {name}").format(name=exc.option_name)
        if exc.possibilities:
            what += _("（是否想用: {names}？）").format(names=", ".join(sorted(exc.possibilities)))
        return what
    if isinstance(exc, cx.MissingParameter):
        given = exc.param_type or getattr(exc.param, "param_type_name", None)
        kind = _("选项") if given == "option" else _("参数")
        what = _("缺少{kind} {name}").format(kind=kind, name=_hint(exc))
        return what + (f": {reword(exc.message)}" if exc.message else "")
    if isinstance(exc, cx.BadParameter) and (exc.param_hint or exc.param):
        return _("{name} 的值无效: {reason}").format(name=_hint(exc), reason=reword(exc.message))
    return reword(exc.format_message())


def _hint(exc: cx.BadParameter) -> str:
    """How click names the parameter: '--days', 'PATHS', or alternatives."""
    hint: Any = exc.param_hint
    if hint is None and exc.param is not None:
        hint = exc.param.get_error_hint()
    if isinstance(hint, str):
        return hint
    return " / ".join(repr(h) for h in hint or ())

"""The one door for user-facing text: `_()` marks a message for the catalogs.

Why now, before the catalogs exist: new code wraps its messages from the start,
so the language work (issue 13) extracts them with Babel instead of hunting for
literals. The source language is Chinese (the forms' and the users' language);
`_()` returns the message unchanged until catalogs are installed.

Rules for callers, so extraction works:
- pass a literal, never an f-string: `_("检查了 {n} 个文件").format(n=n)`;
- text built at import time (tables, rule summaries) is marked with `N_()` and
  translated with `_()` where it is shown.
"""

from __future__ import annotations

import gettext

_translations: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """The message in the user's language (Chinese until catalogs exist)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware `_()`; Chinese has one form, English two."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark a message for extraction without translating it yet."""
    return message

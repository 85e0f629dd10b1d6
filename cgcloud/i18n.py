"""The one door for user-facing text: `_()` looks a message up in the user's language.

Why gettext (the standard library) at run time and Babel only at build time: a
compiled `.mo` catalog loads in well under a millisecond, so `cgcloud validate`
pays nothing measurable for speaking two languages; Babel (a maintained tool)
extracts and compiles the catalogs (`python -m cgcloud.catalogs`, docs/language.md).

Two source languages meet in one domain (``cgcloud``):
- cgcloud's own messages are written in Chinese, the forms' and the users' language;
  the ``en`` catalog translates them;
- click and typer write English and look their messages up with `gettext.gettext`
  in the *global* domain: `setup()` makes ``cgcloud`` that domain, and the
  ``zh_CN`` catalog translates their strings ("Usage:", "No such option …").

Rules for callers, so extraction works:
- pass a literal, never an f-string: `_("检查了 {n} 个文件").format(n=n)`;
- text built at import time (tables, rule summaries) is marked with `N_()` and
  translated with `_()` where it is shown.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "cgcloud"
LOCALEDIR = Path(__file__).resolve().parent / "locale"
# the language the user picks → the catalog's locale name
CATALOGS = {"zh": "zh_CN", "en": "en"}
DEFAULT = "zh"
LANG_ENV = "CGCLOUD_LANG"

_translations: gettext.NullTranslations | None = None
_current: str | None = None


class UnknownLanguage(ValueError):
    """A language cgcloud has no catalog for (a usage error)."""


def resolve(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``zh`` or ``en``: ``--lang``, then $CGCLOUD_LANG, then the locale (LC_ALL,
    LC_MESSAGES, LANG — the first that is set, as POSIX reads them).

    An unset locale or ``C``/``POSIX`` means Chinese; any other locale that is not
    Chinese means English (the nearer of the two for a reader of neither)."""
    env = os.environ if environ is None else environ
    for chosen in (explicit, env.get(LANG_ENV)):
        if chosen:
            code = chosen.strip().lower().replace("-", "_")
            if code in CATALOGS:
                return code
            if code.split("_")[0] in CATALOGS:
                return code.split("_")[0]
            raise UnknownLanguage(chosen)
    locale = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    code = locale.split(".")[0].split("@")[0].lower()
    if code in ("", "c", "posix"):
        return DEFAULT
    return "zh" if code.startswith("zh") else "en"


def setup(lang: str | None = None) -> str:
    """Speak ``lang`` (default: `resolve()`) from now on, cgcloud and click alike."""
    global _translations, _current
    lang = lang or resolve()
    if lang not in CATALOGS:
        raise UnknownLanguage(lang)
    locale = CATALOGS[lang]
    _translations = gettext.translation(DOMAIN, str(LOCALEDIR), languages=[locale], fallback=True)
    # click and typer call gettext.gettext(): the global domain, whose language
    # GNU gettext takes from $LANGUAGE first (only message catalogs read it)
    gettext.bindtextdomain(DOMAIN, str(LOCALEDIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = locale
    _current = lang
    return lang


def current() -> str:
    """The language messages are given in now."""
    if _current is None:
        try:
            setup()
        except UnknownLanguage:
            setup(DEFAULT)
    assert _current is not None
    return _current


def _(message: str) -> str:
    """The message in the user's language."""
    if _translations is None:
        current()
    assert _translations is not None
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware `_()`; Chinese has one form, English two."""
    if _translations is None:
        current()
    assert _translations is not None
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark a message for extraction without translating it yet."""
    return message

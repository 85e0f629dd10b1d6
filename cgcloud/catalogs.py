"""Maintain the message catalogs with Babel: `python -m cgcloud.catalogs [update|check]`.

A maintainer's tool (Babel is a dev dependency; cgcloud itself reads the compiled
`.mo` files with the standard library). ``update`` extracts every `_()`, `N_()`
and `ngettext()` message from cgcloud and the English messages of click and typer,
writes ``cgcloud/locale/cgcloud.pot``, merges it into each language's ``.po``
(new messages come in untranslated, gone ones are dropped) and compiles the
``.mo`` files. ``check`` changes nothing and lists what is out of date; the test
suite runs it (tests/unit/test_language.py). docs/language.md has the workflow.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click
import typer
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from cgcloud.i18n import CATALOGS, DOMAIN, LOCALEDIR

PACKAGE = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# the libraries whose English messages the Chinese catalog translates
LIBRARIES = {"click": Path(click.__file__).parent, "typer": Path(typer.__file__).parent}
SOURCE_LANGUAGE = {"en": "zh", "zh_CN": "en"}  # catalog → the language its msgids are in


def template() -> Catalog:
    """Every message, with where it comes from (``cgcloud/…`` or ``click/…``)."""
    pot = Catalog(
        project="cgcloud",
        domain=DOMAIN,
        charset="utf-8",
        fuzzy=False,
        copyright_holder="cgcloud",
        msgid_bugs_address="",
        creation_date=_stamp(),
    )
    sources = {"cgcloud": PACKAGE, **LIBRARIES}
    for name, root in sources.items():
        for path, _lineno, message, _comments, context in extract_from_dir(
            str(root), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if name != "cgcloud" and (name, path) in _SKIP:
                continue
            pot.add(message, locations=[(f"{name}/{path}", 0)], context=context)
    return pot


# click's Windows console and editor helpers never run for cgcloud's users
_SKIP = {("click", "_winconsole.py"), ("click", "_termui_impl.py")}


def origin(message_locations: Sequence[tuple[str, int | None]]) -> str:
    """``cgcloud`` when cgcloud itself says the message, else the library's name."""
    names = {loc.split("/", 1)[0] for loc, _ in message_locations}
    return "cgcloud" if "cgcloud" in names else sorted(names)[0]


def _stamp() -> datetime | None:
    """The date the template already carries: an update that finds nothing new
    rewrites no file, and two branches that add messages do not both change the
    header (which would make every merge of the catalogs conflict)."""
    pot = LOCALEDIR / f"{DOMAIN}.pot"
    if not pot.exists():
        return None  # Babel's default: now
    with pot.open("rb") as f:
        date = read_po(f).creation_date
    return date if isinstance(date, datetime) else None


def po_path(locale: str) -> Path:
    return LOCALEDIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _po_text(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, omit_header=False, sort_output=True, include_lineno=False, width=100)
    return buf.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def _read(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale.split("_")[0], domain=DOMAIN, charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=locale.split("_")[0], domain=DOMAIN)


def merged(locale: str, pot: Catalog) -> Catalog:
    catalog = _read(po_path(locale), locale)
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    catalog.revision_date = catalog.creation_date = pot.creation_date
    return catalog


def untranslated(locale: str, catalog: Catalog) -> list[str]:
    """Messages the catalog must translate but does not: in ``en`` every message of
    cgcloud's (written in Chinese), in ``zh_CN`` every message of click's and typer's."""
    needs = "cgcloud" if SOURCE_LANGUAGE[locale] == "zh" else None
    out = []
    for m in catalog:
        # a plural's msgstr is a tuple, truthy even when every form is empty
        done = all(m.string) if isinstance(m.string, tuple) else bool(m.string)
        if not m.id or done:
            continue
        if (origin(m.locations) == "cgcloud") == (needs == "cgcloud"):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return sorted(out)


def update() -> None:
    pot = template()
    LOCALEDIR.mkdir(exist_ok=True)
    (LOCALEDIR / f"{DOMAIN}.pot").write_bytes(_po_text(pot))
    for locale in CATALOGS.values():
        catalog = merged(locale, pot)
        po_path(locale).parent.mkdir(parents=True, exist_ok=True)
        po_path(locale).write_bytes(_po_text(catalog))
        po_path(locale).with_suffix(".mo").write_bytes(_mo_bytes(catalog))


def check() -> list[str]:
    """What `update` would change, and what is not translated yet."""
    problems: list[str] = []
    pot = template()
    for locale in CATALOGS.values():
        path = po_path(locale)
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        have = _read(path, locale)
        want = merged(locale, pot)
        missing = sorted({str(m.id) for m in want if m.id} - {str(m.id) for m in have if m.id})
        stale = sorted({str(m.id) for m in have if m.id} - {str(m.id) for m in want if m.id})
        problems += [f"{path}: not in the catalog: {m!r}" for m in missing]
        problems += [f"{path}: stale (no longer in the code): {m!r}" for m in stale]
        problems += [f"{path}: untranslated: {m!r}" for m in untranslated(locale, have)]
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != _mo_bytes(have):
            problems.append(f"{mo}: not compiled from {path.name} (run update)")
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
        argv = ["check"]
    problems = check()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

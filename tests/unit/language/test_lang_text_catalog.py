"""The catalog check sees an untranslated plural (ngettext) as untranslated: Babel keeps
a plural's msgstr as a tuple, which is truthy even when every form is empty."""

from __future__ import annotations

import pytest


def test_an_untranslated_plural_is_reported() -> None:
    catalogs = pytest.importorskip("cgcloud.catalogs", reason="Babel (dev extra) is missing")
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="en", domain="cgcloud")
    here = [("cgcloud/explain.py", 0)]
    catalog.add(("剩 {n} 天", "剩 {n} 天"), locations=here)
    catalog.add(("{n} 台", "{n} 台"), ("{n} host", ""), locations=here)
    catalog.add(("{n} 行", "{n} 行"), ("{n} row", "{n} rows"), locations=here)
    catalog.add("已审核", "reviewed", locations=here)
    assert catalogs.untranslated("en", catalog) == ["{n} 台", "剩 {n} 天"]

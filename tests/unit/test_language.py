"""Language: which one is chosen, click speaking it, and catalogs that are current."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from cgcloud import i18n


@pytest.fixture(autouse=True)
def restore_language() -> Iterator[None]:
    yield
    i18n.setup(i18n.DEFAULT)


@pytest.mark.parametrize(
    ("explicit", "env", "want"),
    [
        (None, {}, "zh"),
        (None, {"LANG": "C"}, "zh"),
        (None, {"LANG": "C.UTF-8"}, "zh"),
        (None, {"LANG": "POSIX"}, "zh"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_TW.UTF-8"}, "zh"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),
        (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
        (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        (None, {"LC_ALL": "C", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LANG": "en_US.UTF-8", "CGCLOUD_LANG": "zh"}, "zh"),
        ("en", {"CGCLOUD_LANG": "zh"}, "en"),
        ("zh_CN", {}, "zh"),
        ("EN", {}, "en"),
    ],
)
def test_the_language_follows_the_locale_and_the_overrides(
    explicit: str | None, env: dict[str, str], want: str
) -> None:
    assert i18n.resolve(explicit, env) == want


@pytest.mark.parametrize(("explicit", "env"), [("fr", {}), (None, {"CGCLOUD_LANG": "klingon"})])
def test_an_unknown_language_is_refused(explicit: str | None, env: dict[str, str]) -> None:
    with pytest.raises(i18n.UnknownLanguage):
        i18n.resolve(explicit, env)


def tiny() -> click.Command:
    """A fresh command (click keeps a command's --help option once it has made it)."""

    @click.command()
    @click.option("--count", type=int)
    def command(count: int) -> None:
        """A command to make click speak."""

    return command


@pytest.mark.parametrize(
    ("lang", "usage", "error"),
    [("zh", "用法：", "没有选项 '--bogus'"), ("en", "Usage:", "No such option '--bogus'")],
)
def test_click_speaks_the_chosen_language(lang: str, usage: str, error: str) -> None:
    i18n.setup(lang)
    result = CliRunner().invoke(tiny(), ["--bogus"])
    assert result.exit_code == 2
    assert usage in result.output and error in result.output
    help_text = CliRunner().invoke(tiny(), ["--help"]).output
    assert ("显示本帮助并退出" in help_text) is (lang == "zh")


def test_catalogs_are_current_and_complete() -> None:
    """Every marked message is in both catalogs, translated where it must be, compiled."""
    catalogs = pytest.importorskip("cgcloud.catalogs", reason="Babel (dev extra) is missing")
    assert catalogs.check() == []

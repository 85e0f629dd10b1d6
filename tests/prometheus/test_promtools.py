"""The installer's decisions: a machine that cannot install says why (a skip), never errors.

These run everywhere (they install nothing); the real install is what the promtool
tests exercise on a machine with root and Debian's archive.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from promtools import Unavailable, ensure_debian

MISSING = ("cgcloud-test-no-such-binary",)


def test_not_root_is_a_reason_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(Unavailable, match="not root: cannot apt-get install some-package"):
        ensure_debian("some-package", MISSING)


def test_no_apt_get_is_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither the binary nor apt-get
    with pytest.raises(Unavailable, match="no apt-get to install some-package"):
        ensure_debian("some-package", MISSING)


def test_present_binaries_need_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = tmp_path / "sometool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert ensure_debian("some-package", ("sometool",)) == (str(tool),)

"""Session fixture `promtool`: Debian's promtool, installed by the suite when missing
(skipped with the reason where it cannot be: see `prometheus_bins` in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def promtool(prometheus_bins: tuple[str, str]) -> str:
    return prometheus_bins[0]

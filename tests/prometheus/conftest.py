"""Session fixture `promtool`: Debian's promtool, installed by the suite when missing."""

from __future__ import annotations

import pytest
from promtools import ensure_prometheus


@pytest.fixture(scope="session")
def promtool() -> str:
    return ensure_prometheus()[0]

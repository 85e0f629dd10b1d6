"""Report periods: 旬 (1–10, 11–20, 21–end), month, half year — whole local days."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time

from cgcloud import clock
from cgcloud.clock import TZ
from cgcloud.i18n import _

XUN = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, 31)}
_RE = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])(?:-(上旬|中旬|下旬))?|H([12]))$")


class PeriodError(ValueError):
    """A --period value that is not one of the documented forms."""


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in Asia/Shanghai; ``kind`` is xun, month or half."""

    label: str
    kind: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), TZ)

    @property
    def end(self) -> datetime:
        return clock.start_of_day_after(self.last)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @property
    def title(self) -> str:
        names = {"xun": _("十日报"), "month": _("月报"), "half": _("半年报")}
        return names[self.kind]


def parse_period(text: str) -> Period:
    """``2027-01-上旬``, ``2027-01`` or ``2027-H1`` → Period; PeriodError otherwise."""
    m = _RE.match(text.strip())
    if not m:
        raise PeriodError(
            _(
                "无法识别的报告期 {p!r}：应为 2027-01-上旬|中旬|下旬（旬报）、2027-01（月报）"
                "或 2027-H1|H2（半年报）"
            ).format(p=text)
        )
    year = int(m.group(1))
    if m.group(4):
        half = int(m.group(4))
        first = date(year, 1 if half == 1 else 7, 1)
        last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
        return Period(text.strip(), "half", first, last)
    month = int(m.group(2))
    days = calendar.monthrange(year, month)[1]
    if m.group(3):
        lo, hi = XUN[m.group(3)]
        return Period(text.strip(), "xun", date(year, month, lo), date(year, month, min(hi, days)))
    return Period(text.strip(), "month", date(year, month, 1), date(year, month, days))

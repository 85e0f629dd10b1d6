"""The one place that knows what "now" and "a day" are.

The regulation speaks in calendar dates in Asia/Shanghai; a period covers whole
days from ``start`` 00:00 to ``end`` 24:00 local time. Every command takes an
injectable ``--now`` so any day can be replayed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


class ClockError(ValueError):
    """A --now value or a date that cannot be understood."""


def now_local(value: str | datetime | None = None) -> datetime:
    """Return an aware datetime in Asia/Shanghai.

    ``value`` is an ISO 8601 string (``2026-12-01``, ``2026-12-01T08:00``,
    ``2026-12-01T00:00:00+00:00``) or None for the real clock. A naive value is
    read as Asia/Shanghai local time (that is what the forms mean); a bare date
    is 00:00 local of that day.
    """
    if value is None:
        return datetime.now(TZ)
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                dt = datetime.combine(date.fromisoformat(text), time())
            else:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ClockError(
                f"无法解析时间 {value!r}：请使用 ISO 8601，例如 2026-12-01 或 2026-12-01T08:00:00+08:00"
            ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def today(now: datetime) -> date:
    """The local calendar day of ``now``."""
    return now.astimezone(TZ).date()


def parse_date(text: str) -> date:
    """Parse a form date ``YYYY-MM-DD``; raise ClockError with a Chinese message."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ClockError(f"日期 {text!r} 无效，应为 YYYY-MM-DD 格式的真实日期") from exc


def start_of(day: date) -> datetime:
    """00:00 local of ``day``."""
    return datetime.combine(day, time(), tzinfo=TZ)


def full_days_after(moment: datetime, days: int) -> datetime:
    """The first instant after ``days`` whole local days have passed since ``moment``.

    The day of ``moment`` itself never counts (it is not a full day), so a host
    powered off at 23:59 on 12-15 has its seven full days 12-16 … 12-22 and the
    result is 12-23 00:00 local, the same as for a power-off at 00:01. Used for
    the decommission's "seven full days after the recorded power-off" (附件3).
    """
    return start_of(today(moment) + timedelta(days=days + 1))


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, clamping to the month's last day (01-31 + 1 = 02-28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def max_high_risk_end(start: date) -> date:
    """Last valid end of a one-month window: ``start + 1 calendar month - 1 day``."""
    return add_months(start, 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Window:
    """An inclusive range of whole local days."""

    start: date
    end: date

    @property
    def opens_at(self) -> datetime:
        return start_of(self.start)

    @property
    def closes_at(self) -> datetime:
        """The instant the window has ended: 00:00 local of the day after ``end``."""
        return start_of(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def is_past(self, now: datetime) -> bool:
        return now >= self.closes_at

    def is_future(self, now: datetime) -> bool:
        return now < self.opens_at

    def covers(self, other: Window) -> bool:
        return self.start <= other.start and other.end <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

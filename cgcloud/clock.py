"""The one place that knows what "now" and "a day" are.

The regulation speaks in calendar dates in Asia/Shanghai; a period covers whole
days from ``start`` 00:00 to ``end`` 24:00 local time. Every command takes an
injectable ``--now`` so any day can be replayed.

Every date the forms and options accept (0001-01-01 … 9999-12-31, a common "no
end" is 9999-12-31) works everywhere: arithmetic here *saturates* at the ends of
Python's calendar instead of raising OverflowError. "The day after 9999-12-31"
is the last representable instant, ``END_OF_TIME``, which is later than any --now.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cgcloud.i18n import _

TZ = ZoneInfo("Asia/Shanghai")
# The last and first instants this module hands out; both survive .timestamp() and
# conversion to UTC (Asia/Shanghai is UTC+8 today; in year 1 the zone database gives
# local mean time, +08:05:43, so the first whole day that converts is 0001-01-02).
END_OF_TIME = datetime.combine(date.max, time.max, tzinfo=TZ)
START_OF_TIME = datetime.combine(date(1, 1, 2), time(), tzinfo=TZ)


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
                _(
                    "无法解析时间 {value}：请使用 ISO 8601，例如 2026-12-01 或 "
                    "2026-12-01T08:00:00+08:00"
                ).format(value=repr(value))
            ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    try:
        local = dt.astimezone(TZ)
        local.astimezone(UTC)  # must also be representable in UTC (timestamps, APIs)
    except (OverflowError, ValueError) as exc:
        raise ClockError(_out_of_range(value)) from exc
    if local < START_OF_TIME:
        raise ClockError(_out_of_range(value))
    return local


def _out_of_range(value: str | datetime) -> str:
    return _(
        "时间 {value} 超出可表示的范围（0001-01-02 至 9999-12-31T23:59:59，Asia/Shanghai）"
    ).format(value=repr(value))


def today(now: datetime) -> date:
    """The local calendar day of ``now``."""
    return now.astimezone(TZ).date()


def parse_date(text: str) -> date:
    """Parse a form date ``YYYY-MM-DD``; raise ClockError with a Chinese message."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ClockError(
            _("日期 {text} 无效，应为 YYYY-MM-DD 格式的真实日期").format(text=repr(text))
        ) from exc


def start_of(day: date) -> datetime:
    """00:00 local of ``day``."""
    return datetime.combine(day, time(), tzinfo=TZ)


def add_days(day: date, days: int) -> date:
    """``day + days``, saturating at 0001-01-01 and 9999-12-31."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def later(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, saturating at START_OF_TIME / END_OF_TIME."""
    try:
        out = moment + delta
    except OverflowError:
        return END_OF_TIME if delta > timedelta(0) else START_OF_TIME
    return min(max(out, START_OF_TIME), END_OF_TIME)


def days_later(moment: datetime, days: int) -> datetime:
    """``moment`` plus ``days`` days (any int, 10**9 included), saturating."""
    if abs(days) > 3_700_000:  # more than the whole calendar: timedelta itself would overflow
        return END_OF_TIME if days > 0 else START_OF_TIME
    return later(moment, timedelta(days=days))


def start_of_day_after(day: date) -> datetime:
    """00:00 local of the day after ``day`` (END_OF_TIME after 9999-12-31)."""
    if day == date.max:
        return END_OF_TIME
    return start_of(day + timedelta(days=1))


def full_days_after(moment: datetime, days: int) -> datetime:
    """The first instant after ``days`` whole local days have passed since ``moment``.

    The day of ``moment`` itself never counts (it is not a full day), so a host
    powered off at 23:59 on 12-15 has its seven full days 12-16 … 12-22 and the
    result is 12-23 00:00 local, the same as for a power-off at 00:01. Used for
    the decommission's "seven full days after the recorded power-off" (附件3).
    """
    last = add_days(today(moment), days)
    return start_of_day_after(last)


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, clamping to the month's last day (01-31 + 1 = 02-28/29);
    saturating at 0001-01-01 and 9999-12-31."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def max_high_risk_end(start: date) -> date:
    """Last valid end of a one-month window: ``start + 1 calendar month - 1 day``
    (9999-12-31 when that lies beyond the calendar)."""
    if (start.year, start.month) == (date.max.year, 12):
        return date.max
    return add_months(start, 1) - timedelta(days=1)


def year_start(year: int) -> datetime:
    """00:00 local of 1 January of ``year`` (END_OF_TIME for the year after 9999)."""
    if year > date.max.year:
        return END_OF_TIME
    return start_of(date(max(year, date.min.year), 1, 1))


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
        return start_of_day_after(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def endless(self) -> bool:
        """Ends on 9999-12-31, the common "no end": it never closes within the calendar."""
        return self.end == date.max

    def contains(self, now: datetime) -> bool:
        return self.opens_at <= now and (self.endless or now < self.closes_at)

    def is_past(self, now: datetime) -> bool:
        return not self.endless and now >= self.closes_at

    def is_future(self, now: datetime) -> bool:
        return now < self.opens_at

    def covers(self, other: Window) -> bool:
        return self.start <= other.start and other.end <= self.end

    def __str__(self) -> str:
        return _("{start} 至 {end}").format(start=self.start.isoformat(), end=self.end.isoformat())

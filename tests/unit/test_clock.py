"""The clock: calendar months, the one-month rule, whole local days, --now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cgcloud import clock
from cgcloud.clock import TZ, Window

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


# --------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # not a leap year (century)
        (date(2000, 1, 31), 1, date(2000, 2, 29)),  # leap year (400)
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2027, 1, 15), -1, date(2026, 12, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 5, 20), 12, date(2028, 5, 20)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_add_months(day, months, expected):
    assert clock.add_months(day, months) == expected


@given(days, st.integers(min_value=-24, max_value=24))
def test_add_months_properties(day, months):
    out = clock.add_months(day, months)
    assert (out.year * 12 + out.month) - (day.year * 12 + day.month) == months
    assert out.day == day.day or (out.day < day.day and (out + timedelta(days=1)).day == 1)


# --------------------------------------------------------------------------- the one-month rule


@pytest.mark.parametrize(
    ("start", "last"),
    [
        (date(2026, 12, 1), date(2026, 12, 31)),  # the spec's example window
        (date(2026, 12, 15), date(2027, 1, 14)),
        (date(2027, 1, 31), date(2027, 2, 27)),  # 01-31 + 1 month = 02-28, minus a day
        (date(2028, 1, 31), date(2028, 2, 28)),  # leap year: 02-29 minus a day
        (date(2027, 1, 30), date(2027, 2, 27)),
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2027, 2, 28), date(2027, 3, 27)),
        (date(2027, 3, 31), date(2027, 4, 29)),
    ],
)
def test_max_high_risk_end(start, last):
    assert clock.max_high_risk_end(start) == last


def test_spec_example_2026_12_01_to_2027_01_05_is_too_long():
    assert date(2027, 1, 5) > clock.max_high_risk_end(date(2026, 12, 1))


@given(days)
def test_one_month_window_is_at_most_31_days_and_at_least_27(start):
    w = Window(start, clock.max_high_risk_end(start))
    assert 27 <= w.days <= 31
    assert w.end < clock.add_months(start, 1)


# --------------------------------------------------------------------------- Window


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc, arg-type]  # y, m, d[, h, …]


def test_window_contains_whole_local_days():
    w = Window(date(2026, 12, 1), date(2026, 12, 31))
    assert not w.contains(local(2026, 11, 30, 23, 59, 59))
    assert w.contains(local(2026, 12, 1, 0, 0, 0))
    assert w.contains(local(2026, 12, 31, 0, 0, 0))
    assert w.contains(local(2026, 12, 31, 23, 59, 59))
    assert w.contains(local(2026, 12, 31, 23, 59, 59, 999999))
    assert not w.contains(local(2027, 1, 1, 0, 0, 0))
    assert w.is_past(local(2027, 1, 1, 0, 0, 0)) and not w.is_past(local(2026, 12, 31, 23, 59, 59))
    assert w.is_future(local(2026, 11, 30, 23, 59, 59)) and not w.is_future(local(2026, 12, 1))
    assert w.days == 31
    assert str(w) == "2026-12-01 至 2026-12-31"


def test_window_is_judged_in_shanghai_not_utc():
    w = Window(date(2026, 12, 1), date(2026, 12, 31))
    # 2026-12-31T16:00Z is 2027-01-01 00:00 in Shanghai: the window has ended
    assert not w.contains(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert w.contains(datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC))
    # 2026-11-30T16:00Z is 2026-12-01 00:00 in Shanghai: it has begun
    assert w.contains(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))


def test_one_day_window():
    w = Window(date(2026, 12, 1), date(2026, 12, 1))
    assert w.days == 1
    assert w.contains(local(2026, 12, 1, 23, 59, 59))
    assert not w.contains(local(2026, 12, 2))


def test_window_covers():
    year = Window(date(2027, 1, 1), date(2027, 12, 31))
    assert year.covers(Window(date(2027, 1, 1), date(2027, 1, 31)))
    assert year.covers(year)
    assert not Window(date(2027, 1, 1), date(2027, 1, 31)).covers(year)


# --------------------------------------------------------------------------- --now


def test_now_without_timezone_is_shanghai_local():
    now = clock.now_local("2026-12-31T23:59:59")
    assert now.tzinfo is not None and now.utcoffset() == timedelta(hours=8)
    assert (now.year, now.month, now.day, now.hour) == (2026, 12, 31, 23)
    assert clock.today(now) == date(2026, 12, 31)


def test_now_bare_date_is_midnight_local():
    now = clock.now_local("2026-12-01")
    assert now == local(2026, 12, 1)
    assert Window(date(2026, 12, 1), date(2026, 12, 1)).contains(now)


@pytest.mark.parametrize(
    ("text", "expected_local"),
    [
        ("2026-12-31T16:00:00Z", local(2027, 1, 1, 0, 0)),
        ("2026-12-31T16:00:00+00:00", local(2027, 1, 1, 0, 0)),
        ("2026-12-31T23:00:00+08:00", local(2026, 12, 31, 23, 0)),
        ("2026-12-31T10:00:00-05:00", local(2026, 12, 31, 23, 0)),
    ],
)
def test_now_with_timezone_is_converted(text, expected_local):
    now = clock.now_local(text)
    assert now == expected_local
    assert now.utcoffset() == timedelta(hours=8)
    assert clock.today(now) == expected_local.date()


def test_now_accepts_datetimes_and_none():
    naive = datetime(2026, 12, 1, 8, 0)
    assert clock.now_local(naive) == local(2026, 12, 1, 8, 0)
    assert clock.now_local(None).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-02-30", "2026/12/01", ""])
def test_bad_now_is_a_clock_error(text):
    with pytest.raises(clock.ClockError) as exc:
        clock.now_local(text)
    assert "ISO 8601" in str(exc.value)


@pytest.mark.parametrize("text", ["2026-02-29", "2026-13-01", "26-12-01", "2026-12-1x"])
def test_bad_form_dates(text):
    with pytest.raises(clock.ClockError):
        clock.parse_date(text)


def test_leap_day_is_a_date():
    assert clock.parse_date("2028-02-29") == date(2028, 2, 29)

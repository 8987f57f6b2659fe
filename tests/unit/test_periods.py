"""Periods: built-in patterns as of a given day, whole-string matching, custom patterns."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sosw_core.domain.periods import DEFAULT_PERIODS, PeriodRegistry, default_periods
from sosw_core.errors import InvalidJob

THURSDAY = date(2019, 1, 31)


@pytest.mark.parametrize(("period", "today", "dates"), [
    ("today", THURSDAY, ["2019-01-31"]),
    ("yesterday", date(2019, 3, 1), ["2019-02-28"]),
    ("yesterday", date(2020, 3, 1), ["2020-02-29"]),
    ("last_1_days", THURSDAY, ["2019-01-30"]),
    ("last_2_days", THURSDAY, ["2019-01-29", "2019-01-30"]),
    ("last_3_days", date(2019, 1, 2), ["2018-12-30", "2018-12-31", "2019-01-01"]),
    ("0_days_back", THURSDAY, ["2019-01-31"]),
    ("3_days_back", THURSDAY, ["2019-01-28"]),
    ("7_days_back", THURSDAY, ["2019-01-24"]),
    ("previous_2_days", date(2019, 4, 30), ["2019-04-26", "2019-04-27"]),
    ("previous_1_days", THURSDAY, ["2019-01-29"]),
    ("last_week", THURSDAY, [f"2019-01-{d}" for d in range(20, 27)]),
    ("last_week", date(2019, 1, 27), [f"2019-01-{d}" for d in range(20, 27)]),  # a Sunday
    ("last_week", date(2019, 1, 26), [f"2019-01-{d:02d}" for d in range(13, 20)]),  # a Saturday
    ("last_week", date(2019, 1, 28), [f"2019-01-{d}" for d in range(20, 27)]),  # a Monday
    ("last_week", date(2019, 1, 3), ["2018-12-23", "2018-12-24", "2018-12-25", "2018-12-26",
                                     "2018-12-27", "2018-12-28", "2018-12-29"]),
])
def test_builtin_periods(period, today, dates):
    assert default_periods().expand(period, today) == dates


def test_last_week_is_always_sunday_to_saturday_before_this_week():
    for offset in range(14):
        today = date(2019, 1, 20) + timedelta(days=offset)
        days = [date.fromisoformat(d) for d in default_periods().expand("last_week", today)]
        assert [d.isoweekday() for d in days] == [7, 1, 2, 3, 4, 5, 6]
        assert 1 <= (today - days[-1]).days <= 7


def test_today_is_a_parameter_and_datetimes_are_reduced_to_dates():
    assert DEFAULT_PERIODS.expand("today", datetime(2019, 1, 31, 23, 59)) == ["2019-01-31"]


@pytest.mark.parametrize("period", ["todayX", "xtoday", "today ", "last_week_1", "last_2_days_back",
                                    "last_x_days", "2_days", "LAST_WEEK", ""])
def test_patterns_match_the_whole_string(period):
    with pytest.raises(InvalidJob, match="^period: unknown period"):
        default_periods().expand(period, THURSDAY)


@pytest.mark.parametrize("period", ["last_0_days", "previous_0_days"])
def test_a_period_with_no_dates_is_invalid(period):
    with pytest.raises(InvalidJob, match="^period: .*gives no dates"):
        default_periods().expand(period, THURSDAY)


@pytest.mark.parametrize("period", [None, 3, ["today"]])
def test_a_period_must_be_a_string(period):
    with pytest.raises(InvalidJob, match="^period: must be a string"):
        default_periods().check(period)


def test_custom_patterns_are_registered_on_a_registry_of_your_own():
    registry = default_periods()
    registry.register(r"month_to_date", lambda m, t: [t.replace(day=d) for d in range(t.day, 0, -1)])
    assert registry.expand("month_to_date", date(2019, 2, 3)) == ["2019-02-01", "2019-02-02", "2019-02-03"]
    with pytest.raises(InvalidJob):
        DEFAULT_PERIODS.check("month_to_date")  # the default registry is untouched
    with pytest.raises(InvalidJob):
        default_periods().check("month_to_date")


def test_the_latest_registration_wins_and_copies_are_independent():
    registry = default_periods()
    copied = registry.copy()
    registry.register(r"today", lambda m, t: [date(2000, 1, 1)])
    assert registry.expand("today", THURSDAY) == ["2000-01-01"]
    assert copied.expand("today", THURSDAY) == ["2019-01-31"]


def test_expanded_dates_are_sorted_and_distinct():
    registry = PeriodRegistry()
    registry.register(r"odd_(?P<n>[0-9]+)", lambda m, t: [t, date(2019, 1, int(m["n"])), t])
    assert registry.expand("odd_5", THURSDAY) == ["2019-01-05", "2019-01-31"]
    assert PeriodRegistry().copy() is not None
    with pytest.raises(InvalidJob):
        PeriodRegistry().expand("today", THURSDAY)  # an empty registry knows no patterns


def test_sosw07_prefix_matching_and_empty_lists():
    """The sosw07 payload style reads period names as sosw 0.7 did: a pattern may match a prefix
    (whole matches first), and ``last_0_days`` is an empty list unless each day is a task."""
    assert default_periods().expand("todayX", THURSDAY, prefix=True) == ["2019-01-31"]
    assert default_periods().expand("last_2_days_back", THURSDAY, prefix=True) == ["2019-01-29", "2019-01-30"]
    assert default_periods().expand("last_0_days", THURSDAY, allow_empty=True) == []
    with pytest.raises(InvalidJob, match="^period: unknown period"):
        default_periods().expand("xtoday", THURSDAY, prefix=True)

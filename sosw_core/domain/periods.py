"""``period`` → ``date_list``: named date ranges relative to a given day.

The day ("today") is always a parameter; nothing here reads the clock. Built-in patterns, with
T = today (every list ascending, as ISO ``YYYY-MM-DD`` strings):

============================  ====================================================
``today``                     [T]
``yesterday``                 [T-1]
``last_X_days`` (X ≥ 1)       [T-X … T-1]
``X_days_back`` (X ≥ 0)       [T-X]
``previous_X_days`` (X ≥ 1)   [T-2X … T-X-1]
``last_week``                 Sunday..Saturday of the week before T's week
============================  ====================================================

Weeks run Sunday..Saturday, so on a Sunday ``last_week`` is the seven days that ended
yesterday (sosw 0.7 returned the week before that on Sundays).

A pattern is a regular expression that must match the **whole** period string: ``todayX`` and
``last_2_days_x`` are invalid. sosw 0.7 matched prefixes; ``expand(..., prefix=True)`` does too
(the ``sosw07`` payload style), trying whole matches first. Register your own with
:meth:`PeriodRegistry.register`, either on a registry of your own (``default_periods()`` gives
a fresh one with the built-ins) passed to the planner, or on the module-level
:data:`DEFAULT_PERIODS`. The most recently registered pattern that matches wins, so a custom
pattern may replace a built-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime

from dateutil.relativedelta import SU, relativedelta

from sosw_core.errors import InvalidJob

Expander = Callable[[re.Match[str], date], Iterable[date]]
"""``expand(match, today)``: the dates of a period; ``match`` is the full match of its pattern."""


def _run(first: date, days: int) -> list[date]:
    """``days`` consecutive dates starting at ``first``."""
    return [first + relativedelta(days=offset) for offset in range(days)]


def _today(match: re.Match[str], today: date) -> list[date]:
    return [today]


def _yesterday(match: re.Match[str], today: date) -> list[date]:
    return [today - relativedelta(days=1)]


def _last_x_days(match: re.Match[str], today: date) -> list[date]:
    days = int(match["days"])
    return _run(today - relativedelta(days=days), days)


def _x_days_back(match: re.Match[str], today: date) -> list[date]:
    return [today - relativedelta(days=int(match["days"]))]


def _previous_x_days(match: re.Match[str], today: date) -> list[date]:
    days = int(match["days"])
    return _run(today - relativedelta(days=2 * days), days)


def _last_week(match: re.Match[str], today: date) -> list[date]:
    week_start = today + relativedelta(weekday=SU(-1))  # the Sunday on or before today
    return _run(week_start - relativedelta(weeks=1), 7)


class PeriodRegistry:
    """Period patterns and how each expands to dates."""

    def __init__(self) -> None:
        self._patterns: list[tuple[re.Pattern[str], Expander]] = []

    def register(self, regex: str | re.Pattern[str], expand: Expander) -> None:
        """Add a pattern (matched against the whole period string) and its expansion.

        ``expand(match, today)`` returns the dates (any order; duplicates are dropped).
        """
        self._patterns.append((re.compile(regex), expand))

    def copy(self) -> PeriodRegistry:
        """An independent registry with the same patterns."""
        clone = PeriodRegistry()
        clone._patterns = list(self._patterns)
        return clone

    def _find(self, period: object, prefix: bool = False) -> tuple[re.Match[str], Expander]:
        if not isinstance(period, str):
            raise InvalidJob("period", f"must be a string, not {type(period).__name__}")
        for pattern, expand in reversed(self._patterns):
            match = pattern.fullmatch(period)
            if match:
                return match, expand
        for pattern, expand in reversed(self._patterns) if prefix else ():
            match = pattern.match(period)
            if match:
                return match, expand
        raise InvalidJob("period", f"unknown period {period!r}: use today, yesterday, last_X_days, "
                                   "X_days_back, previous_X_days, last_week or a registered pattern")

    def check(self, period: object, *, prefix: bool = False) -> None:
        """InvalidJob unless ``period`` matches a registered pattern (no dates are computed)."""
        self._find(period, prefix)

    def expand(self, period: object, today: date, *, prefix: bool = False, allow_empty: bool = False) -> list[str]:
        """The ISO dates of ``period`` as of ``today``, ascending and distinct.

        InvalidJob names ``period`` when it matches no pattern or (unless ``allow_empty``: sosw
        0.7 gave ``last_0_days`` an empty ``date_list``) gives no dates. ``prefix``: a pattern
        may match the start of the period only, as in sosw 0.7.
        """
        if isinstance(today, datetime):
            today = today.date()
        match, expand = self._find(period, prefix)
        try:
            days = list(expand(match, today))
        except (OverflowError, ValueError) as exc:  # before year 1, after 9999, or a 5,000-digit X
            text = match.string  # the period, a str once a pattern matched it
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise InvalidJob("period", f"{shown!r} is out of range: {exc}"[:300]) from None
        dates = sorted({day.date() if isinstance(day, datetime) else day for day in days})
        if not dates and not allow_empty:
            raise InvalidJob("period", f"{period!r} gives no dates")
        return [day.isoformat() for day in dates]


def default_periods() -> PeriodRegistry:
    """A new registry holding the built-in patterns."""
    registry = PeriodRegistry()
    registry.register(r"today", _today)
    registry.register(r"yesterday", _yesterday)
    registry.register(r"last_(?P<days>[0-9]+)_days", _last_x_days)
    registry.register(r"(?P<days>[0-9]+)_days_back", _x_days_back)
    registry.register(r"previous_(?P<days>[0-9]+)_days", _previous_x_days)
    registry.register(r"last_week", _last_week)
    return registry


DEFAULT_PERIODS = default_periods()
"""The registry used when none is passed; registering here affects the whole process."""

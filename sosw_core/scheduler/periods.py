"""``period`` → ``date_list``: named date ranges relative to "today" (passed in, never read).

Patterns match the whole string (``todayX`` is not ``today``). Built-ins, with T = today:
``today`` [T]; ``yesterday`` [T-1]; ``last_X_days`` [T-X … T-1]; ``X_days_back`` [T-X];
``previous_X_days`` [T-2X … T-X-1]; ``last_week`` Sunday..Saturday of the previous week.
Register more with ``DEFAULT_PERIODS.register(regex, function)`` or a registry of your own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from dateutil.relativedelta import SU, relativedelta

from sosw_core.errors import InvalidJob

Expander = Callable[[re.Match, date], list[date]]


def _days(first: date, count: int) -> list[date]:
    return [first + relativedelta(days=i) for i in range(count)]


def _last_week(match: re.Match, today: date) -> list[date]:
    this_sunday = today + relativedelta(weekday=SU(-1))  # today itself when today is a Sunday
    return _days(this_sunday - relativedelta(weeks=1), 7)


class PeriodRegistry:
    def __init__(self) -> None:
        self._patterns: list[tuple[re.Pattern, Expander]] = []

    def register(self, regex: str, expand: Expander) -> None:
        """Add a pattern (matched against the whole period string) and its expansion."""
        self._patterns.append((re.compile(regex), expand))

    def copy(self) -> PeriodRegistry:
        clone = PeriodRegistry()
        clone._patterns = list(self._patterns)
        return clone

    def expand(self, period: str, today: date) -> list[str]:
        """ISO dates, ascending; InvalidJob for an unknown pattern or an empty range."""
        if not isinstance(period, str):
            raise InvalidJob("period", f"must be a string, not {type(period).__name__}")
        for pattern, expand in self._patterns:
            match = pattern.fullmatch(period)
            if match:
                dates = sorted(expand(match, today))
                if not dates:
                    raise InvalidJob("period", f"{period!r} gives no dates")
                return [d.isoformat() for d in dates]
        raise InvalidJob("period", f"unknown period {period!r}; use today, yesterday, last_X_days, "
                                   "X_days_back, previous_X_days, last_week or a registered pattern")


def default_periods() -> PeriodRegistry:
    registry = PeriodRegistry()
    registry.register(r"today", lambda m, t: [t])
    registry.register(r"yesterday", lambda m, t: [t - relativedelta(days=1)])
    registry.register(r"last_([1-9][0-9]*)_days",
                      lambda m, t: _days(t - relativedelta(days=int(m[1])), int(m[1])))
    registry.register(r"([0-9]+)_days_back", lambda m, t: [t - relativedelta(days=int(m[1]))])
    registry.register(r"previous_([1-9][0-9]*)_days",
                      lambda m, t: _days(t - relativedelta(days=2 * int(m[1])), int(m[1])))
    registry.register(r"last_week", _last_week)
    return registry


DEFAULT_PERIODS = default_periods()

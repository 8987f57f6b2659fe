"""The one seam for time.

Domain code never reads the clock: it takes ``now`` (UTC epoch seconds as ``float``).
Entry points read a :class:`Clock` once per invocation and pass ``now`` down.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time (epoch seconds)."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.value = float(start)

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> float:
        self.value += seconds
        return self.value


def iso(epoch: float | None) -> str:
    """Epoch seconds as an ISO-8601 UTC string (millisecond precision), '' for None."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""Test doubles shared by every test tier, written once.

Where the package ships a class that does the job, tests use it instead of a double here:
:class:`sosw_core.adapters.notifiers.local.MemoryNotifier` keeps alerts,
:class:`sosw_core.testing.HarnessContext` is a Lambda context whose time runs on a FixedClock,
:class:`sosw_core.adapters.invokers.local.LocalInvoker` runs handlers in threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sosw_core.adapters.invokers.base import InvokeError
from sosw_core.adapters.notifiers.base import DeadTaskAlert
from sosw_core.adapters.notifiers.local import MemoryNotifier


class RecordingInvoker:
    """Accepts invocations and remembers each ``(function_name, event)`` in order (thread-safe).

    Functions named in ``failing`` are refused with :class:`InvokeError`, as Lambda refuses a
    throttled invocation; change the set between calls to start or stop refusing.
    """

    def __init__(self, failing: Iterable[str] = ()):
        self.failing = set(failing)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        if function_name in self.failing:
            raise InvokeError(function_name, "TooManyRequestsException: rate exceeded")
        with self._lock:
            self.calls.append((function_name, event))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """The calls recorded since the last ``take``, which are forgotten."""
        with self._lock:
            taken, self.calls = self.calls, []
        return taken

    def per_task(self) -> Counter:
        """How many times each task id was invoked."""
        with self._lock:
            return Counter(event["task_id"] for _, event in self.calls)


class FlakyNotifier(MemoryNotifier):
    """A :class:`MemoryNotifier` whose first ``failures`` publishes raise (SNS unreachable)."""

    def __init__(self, failures: int = 1):
        super().__init__()
        self.failures = failures

    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("SNS unreachable")
        super().notify_dead(alerts)


class RunsOut:
    """A Lambda context with plenty of time (600 s) for ``checks`` reads, then 5 s.

    5 s is below the default stop margins (the orchestrator's 10 s, the Scheduler's 30 s), so
    ``RunsOut(1)`` lets a ticking essential run exactly one tick, without sleeping.
    """

    def __init__(self, checks: int):
        self.left = checks

    def get_remaining_time_in_millis(self) -> int:
        self.left -= 1
        return 600_000 if self.left >= 0 else 5_000

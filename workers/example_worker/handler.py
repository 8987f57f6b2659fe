"""Example worker Lambda: ``{"numbers": [1, 2, 3.5]}`` → result ``{"sum": 6.5}``.

Deploy with handler ``workers.example_worker.handler.lambda_handler`` (see
``cloudformation/example-worker.yaml``). It reports to the WorkerAssistant named by
``SOSW_WORKER_ASSISTANT_FUNCTION`` (default ``sosw_worker_assistant``).

What it shows besides the work itself:

* the payload is validated first, and a bad one raises an error naming the field (the Worker
  base class reports it as a failure);
* on long inputs it checks every ``heartbeat_every`` numbers how much Lambda time is left
  (:class:`OutOfTime` when too little: a reported failure is retried, a killed Lambda only
  shows up when its lease runs out) and extends its lease with ``ensure_current``, which raises
  :class:`~sosw_core.errors.AttemptSuperseded` (and so stops the work) when this attempt is no
  longer current;
* its result depends on the payload alone, so running a task twice (execution is
  at-least-once) gives the same result and has no other effect.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from sosw_core import Worker
from sosw_core.services.worker import Reporter


class OutOfTime(RuntimeError):
    """Too little Lambda time is left to go on; failing now gets the task retried at once."""


def parse_numbers(payload: dict[str, Any]) -> list[Real]:
    """``payload["numbers"]``: a list of numbers (booleans are not numbers here)."""
    numbers = payload.get("numbers")
    if not isinstance(numbers, list):
        raise ValueError(f"payload 'numbers' must be a list, not {type(numbers).__name__}")
    bad = [n for n in numbers if isinstance(n, bool) or not isinstance(n, Real)]
    if bad:
        raise TypeError(f"payload 'numbers' holds {len(bad)} values that are not numbers")
    return numbers


class SumWorker(Worker):
    """Sums ``payload["numbers"]``; counts them in ``stats["numbers-summed"]``."""

    heartbeat_every = 100_000  # numbers between two checks of the time left and the lease
    min_remaining_ms = 5_000  # give up (OutOfTime) with less Lambda time than this left

    def __init__(self, reporter: Reporter | None = None, *, heartbeat_every: int | None = None,
                 min_remaining_ms: int | None = None):
        super().__init__(reporter)
        if heartbeat_every is not None:
            if heartbeat_every < 1:
                raise ValueError(f"heartbeat_every must be at least 1, got {heartbeat_every}")
            self.heartbeat_every = heartbeat_every
        if min_remaining_ms is not None:
            self.min_remaining_ms = min_remaining_ms

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        numbers = parse_numbers(payload)
        total: Real = 0
        for done, number in enumerate(numbers, start=1):
            total += number
            if done % self.heartbeat_every == 0 and done < len(numbers):
                self.keep_going(done, len(numbers))
        self.stats["numbers-summed"] = len(numbers)
        return {"sum": total}

    def keep_going(self, done: int, total: int) -> None:
        """Between two chunks of work: enough time left? Then extend the lease."""
        remaining = self.remaining_time_ms()
        if remaining is not None and remaining < self.min_remaining_ms:
            raise OutOfTime(f"{done} of {total} numbers summed with {remaining} ms left")
        self.ensure_current()  # raises AttemptSuperseded if the lease ran out and the task moved on


# An instance is a Lambda handler too; `sosw-core local up` can then hand it its in-process reporter.
lambda_handler = SumWorker()

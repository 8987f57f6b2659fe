"""Example worker Lambda: ``{"numbers": [1, 2, 3.5]}`` → result ``{"sum": 6.5}``.

Deploy with handler ``workers.example_worker.handler.lambda_handler``. It reports to the
WorkerAssistant named by ``SOSW_WORKER_ASSISTANT_FUNCTION`` (default ``sosw_worker_assistant``).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from sosw_core.worker import Worker


class SumWorker(Worker):
    """Sums ``payload["numbers"]``; counts them in ``stats["numbers-summed"]``."""

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        numbers = payload.get("numbers")
        if not isinstance(numbers, list):
            raise ValueError(f"payload 'numbers' must be a list, not {type(numbers).__name__}")
        bad = [n for n in numbers if isinstance(n, bool) or not isinstance(n, Real)]
        if bad:
            raise TypeError(f"payload 'numbers' holds {len(bad)} values that are not numbers")
        self.stats["numbers-summed"] = len(numbers)
        return {"sum": sum(numbers)}


lambda_handler = SumWorker.handler

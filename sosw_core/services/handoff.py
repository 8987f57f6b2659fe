"""Completion chaining by hand-off: a finished task passes its slot to the next queued one.

Waiting for the next Orchestrator tick after every completion would cap a labourer with short
tasks at ``max_simultaneous_invocations`` per tick. Instead, when a worker reports success, the
WorkerAssistant completes its task and claims the labourer's next queued task in one
transaction (``complete_and_claim`` of the task store), then invokes it. The number
of tasks running does not change, so the concurrency limit holds without the dispatch lease.

A hand-off is made only when it cannot break a rule the Orchestrator enforces:

* ``chain_on_completion`` is on for the labourer;
* the labourer has no ``max_invocations_per_minute`` (that window lives in the Orchestrator);
* its health allows the full ``max_simultaneous_invocations`` (status coefficient 1): when the
  downstream is struggling, the slot is given back and the Orchestrator decides how many run;
* the report completes the attempt that is running now (see the store function's guard).

Otherwise the completion is written alone, exactly as without chaining.

Costs per hand-off: one queue ``Query`` (``Limit`` = up to 10 candidates, one picked at random
so that workers finishing together do not all race for the head), one ``TransactWriteItems``
(two items), one ``GetItem`` of the claimed task (its payload and token for the worker event).
When the picked task was claimed by someone else first, the Query and the transaction are
repeated, up to 5 tries in all (ten workers finishing together lose some picks to each other:
in the benchmark, 3 to 6 cancelled transactions per 20 hand-offs). Health is read through a
reader cached for ``health_refresh_seconds``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.events import worker_event
from sosw_core.domain.health import desired_invocations, labourer_status
from sosw_core.domain.outcomes import Outcome, QueuedRef
from sosw_core.domain.ports import Invoker, MetricsReader, MetricsReaderFactory, QueueHead, TaskCompleter
from sosw_core.domain.task import Task
from sosw_core.errors import InvokeError
from sosw_core.services.orchestrator import give_back

logger = logging.getLogger(__name__)

CANDIDATES = 10  # queued tasks read per hand-off (one Query): at most the labourer's maximum
TRIES = 5  # hand-off transactions per completion before completing alone


@dataclass(frozen=True)
class Completion:
    """What the hand-off did with one successful report."""

    outcome: Outcome  # of the completion itself
    chained: int = 0  # 1 when a next task was claimed and its invoke accepted
    chain_error: str | None = None  # why a claimed next task could not be invoked


class HandOff:
    """Completes tasks, passing each freed slot to the next queued task when the rules allow."""

    def __init__(self, config: SoswConfig, *, tasks: TaskCompleter, queries: QueueHead, invoker: Invoker,
                 metrics: MetricsReaderFactory, health_refresh_seconds: float = 60.0,
                 rng: random.Random | None = None):
        """Built by :func:`sosw_core.wiring.build_assistant`; ``metrics``: ``now`` → a health reader."""
        self.config = config
        self.queries = queries
        self.tasks = tasks
        self.invoker = invoker
        self.metrics_reader_factory = metrics
        self.health_refresh_seconds = health_refresh_seconds
        self.rng = rng or random.Random()
        self._reader: MetricsReader | None = None
        self._reader_at = float("-inf")

    def complete(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig, now: float,
                 *, result: dict[str, Any] | None = None,
                 stats: dict[str, Any] | None = None) -> Completion:
        """Complete the task; hand its slot on if allowed. Raises what ``TaskStore.complete`` raises."""
        tries = TRIES if self._allowed(labourer, now) else 0
        taken: set[str] = set()
        for _ in range(tries):
            ref = self._pick(labourer, taken)
            if ref is None:
                break  # nothing queued (that this hand-off has not already lost)
            done = self.tasks.complete_and_claim(task_id, token, attempt, labourer, now, ref,
                                                 result=result, stats=stats)
            if done.outcome is None:
                taken.add(ref.task_id)  # claimed by someone else first: pick again from a fresh read
                continue
            if done.next_task is None:
                return Completion(done.outcome)
            return self._invoke(done.outcome, done.next_task, labourer, task_id, now)
        return Completion(self.tasks.complete(task_id, token, attempt, now, labourer_id=labourer.id,
                                              result=result, stats=stats))

    def _pick(self, labourer: LabourerConfig, taken: set[str]) -> QueuedRef | None:
        """One queued task at random among the first few, skipping those this hand-off lost.

        Workers of one labourer often finish together: each picks at random so that they do not
        all race for the queue's head. The queue is read again for every pick, because when a
        pick is lost the rest of an old read is mostly taken too (the other workers' picks).
        """
        limit = min(CANDIDATES, labourer.max_simultaneous_invocations) + len(taken)
        refs = [ref for ref in self.queries.next_queued(labourer.id, limit) if ref.task_id not in taken]
        return self.rng.choice(refs) if refs else None

    def _invoke(self, outcome: Outcome, task: Task, labourer: LabourerConfig, from_task_id: str,
                now: float) -> Completion:
        try:
            self.invoker.invoke(labourer.function_name, worker_event(task))
        except InvokeError as exc:
            give_back(self.tasks, task, now, exc)
            return Completion(outcome, 0, f"invoke failed: {exc.reason}"[:300])
        logger.debug("handed off", extra={"labourer_id": labourer.id, "task_id": task.task_id,
                                          "from_task_id": from_task_id, "attempt": task.attempts})
        return Completion(outcome, 1)

    def _allowed(self, labourer: LabourerConfig, now: float) -> bool:
        if not labourer.chain_on_completion or labourer.max_invocations_per_minute is not None:
            return False
        maximum = labourer.max_simultaneous_invocations
        if not labourer.health_metrics:
            return True
        reader = self._reader
        if reader is None or now - self._reader_at >= self.health_refresh_seconds:
            reader = self._reader = self.metrics_reader_factory(now)
            self._reader_at = now
        values = [reader.value(metric) for metric in labourer.health_metrics]
        status = labourer_status(labourer.health_metrics, values)
        coefficients = self.config.orchestrator.status_coefficients
        return desired_invocations(maximum, status, coefficients, 0) >= maximum

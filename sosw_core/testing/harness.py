"""Run a Worker on a real task, the way the Orchestrator and the WorkerAssistant would.

:class:`WorkerHarness` creates a task in a store (in memory, moto or DynamoDB Local, see
:mod:`sosw_core.testing.backends`), claims it with the same guarded write the Orchestrator
uses, builds the worker event the Orchestrator sends (:func:`sosw_core.domain.events.worker_event`,
through Lambda's JSON encoding and size limit), calls the worker with a Lambda context, and lets
its reports go to a real :class:`~sosw_core.services.assistant.WorkerAssistant` on the same store. The
result, a :class:`~sosw_core.testing.results.WorkerRun`, holds every report the worker sent with
the assistant's answer, and the task's row read back from the table::

    harness = WorkerHarness(backend.store, backend.config)
    run = harness.run(SumWorker(), {"numbers": [1, 2]})
    run.assert_completed({"sum": 3})

Time is the harness's :class:`~sosw_core.clock.FixedClock`: it starts at the real time and only
moves when a test (or :meth:`WorkerHarness.retry` / :meth:`WorkerHarness.expire`) advances it,
so leases, backoffs and the context's remaining time are exact. Completion chaining is off:
the harness never starts a second task on its own.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from sosw_core.adapters.invokers.lambda_ import encode_event
from sosw_core.clock import FixedClock
from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.events import Report, split_worker_event, worker_event
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import NewTask, Task, TaskState
from sosw_core.errors import SoswError
from sosw_core.services.worker import DirectReporter, Reporter, Worker
from sosw_core.testing.backends import DEFAULT_REGION, Backend
from sosw_core.testing.results import SentReport, WorkerRun
from sosw_core.wiring import build_assistant

if TYPE_CHECKING:
    from sosw_core.adapters.dynamodb import Store
    from sosw_core.adapters.memory import MemoryStore


class HarnessError(SoswError):
    """The harness cannot do what was asked (e.g. run a task that is already completed)."""


class HarnessContext:
    """A Lambda context whose remaining time runs on the harness clock.

    It ends ``timeout_seconds`` after the invocation started (by default the labourer's
    ``max_duration_seconds``: a Lambda's timeout must not outlast its lease).
    """

    def __init__(self, function_name: str, clock: FixedClock, timeout_seconds: float):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{DEFAULT_REGION}:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "sosw-core-testing"
        self._clock = clock
        self.ends_at = clock.now() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends_at - self._clock.now()) * 1000))


class _RecordingReporter:
    """Passes reports to the assistant in-process and remembers each with its answer."""

    def __init__(self, inner: Reporter):
        self.inner = inner
        self.sent: list[SentReport] = []

    def report(self, report: Report) -> dict[str, Any]:
        try:
            response = self.inner.report(report)
        except Exception as exc:
            self.sent.append(SentReport(report, error=exc))
            raise
        self.sent.append(SentReport(report, response=response))
        return response


def _as_worker(worker: Worker | type[Worker]) -> Worker:
    if isinstance(worker, type) and issubclass(worker, Worker):
        return worker()
    if isinstance(worker, Worker):
        return worker
    raise TypeError(f"worker: must be a sosw_core.services.worker.Worker subclass or instance, not {worker!r}")


class WorkerHarness:
    """Create, dispatch and run tasks for a Worker on ``store``; read back what happened."""

    def __init__(self, store: Store | MemoryStore, config: SoswConfig, *, clock: FixedClock | None = None):
        self.store = store
        self.config = config
        self.clock = clock or FixedClock(time.time())
        self.assistant = build_assistant(config, store, clock=self.clock, handoff=False)
        self._ids = itertools.count(1)

    @classmethod
    def from_backend(cls, backend: Backend, *, clock: FixedClock | None = None) -> WorkerHarness:
        return cls(backend.store, backend.config, clock=clock)

    # -- lookups ----------------------------------------------------------------------------
    def labourer(self, labourer_id: str | None = None) -> LabourerConfig:
        """The labourer by id; without one, the config's only labourer."""
        if labourer_id is None:
            if len(self.config.labourers) != 1:
                ids = ", ".join(lab.id for lab in self.config.labourers)
                raise HarnessError(f"labourer_id: required when the config has several labourers ({ids})")
            return self.config.labourers[0]
        return self.config.labourer(labourer_id)

    def task(self, task_id: str) -> Task:
        """The task's row as it is now (consistent read)."""
        return self.store.tasks.get(task_id)

    # -- the Scheduler's part ----------------------------------------------------------------
    def create(self, payload: dict[str, Any], *, labourer_id: str | None = None,
               task_id: str | None = None, job_id: str | None = None) -> Task:
        """Create a QUEUED task (the payload is validated as the Scheduler's would be)."""
        labourer = self.labourer(labourer_id)
        task_id = task_id or f"test-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        if not self.store.tasks.create(NewTask(task_id, labourer.id, payload, job_id), self.clock.now()):
            raise HarnessError(f"task_id: a task {task_id!r} exists already")
        return self.task(task_id)

    # -- the Orchestrator's part -------------------------------------------------------------
    def dispatch(self, task_id: str) -> dict[str, Any]:
        """Claim a QUEUED task (attempt + 1, lease starts) and return the worker event for it,
        exactly as Lambda would deliver it."""
        task = self.task(task_id)
        if task.state is not TaskState.QUEUED:
            raise HarnessError(f"task {task_id!r} is {task.state.value}; only a queued task can be dispatched")
        labourer = self.config.labourer(task.labourer_id)
        claimed = self.store.tasks.claim(task_id, task.attempts, labourer, self.clock.now())
        if claimed is None:
            raise HarnessError(f"task {task_id!r} was claimed by someone else meanwhile")
        return json.loads(encode_event(labourer.function_name, worker_event(claimed)))

    # -- Lambda's part -----------------------------------------------------------------------
    def deliver(self, worker: Worker | type[Worker], event: dict[str, Any], *,
                timeout_seconds: float | None = None) -> WorkerRun:
        """Invoke ``worker`` with ``event`` (a copy) and a context of ``timeout_seconds``
        (default: the labourer's lease); its reports go to the assistant. The task's row is
        read back afterwards."""
        instance = _as_worker(worker)
        _, invocation = split_worker_event(event)
        if invocation is None:
            raise HarnessError("event: has no sosw_core envelope; a plain event needs no harness, "
                               "call the worker directly")
        labourer = self.config.labourer(invocation.labourer_id)
        timeout = float(labourer.max_duration_seconds if timeout_seconds is None else timeout_seconds)
        context = HarnessContext(labourer.function_name, self.clock, timeout)
        recorder = _RecordingReporter(DirectReporter(self.assistant))
        previous = instance._reporter  # None (the default) is put back as None
        instance.reporter = recorder  # the same seam the local runtime uses
        own_clock = instance.__dict__.get("clock")
        instance.clock = self.clock  # the worker compares its lease with the context: one timeline
        raised: Exception | None = None
        response: Any = None
        try:
            response = instance(json.loads(json.dumps(event)), context)
        except Exception as exc:  # noqa: BLE001 - kept on the run (``raised``) for the test to assert
            raised = exc
        finally:
            instance.reporter = previous
            if own_clock is None:
                del instance.clock
            else:
                instance.clock = own_clock
        return WorkerRun(task_id=invocation.task_id, labourer_id=invocation.labourer_id,
                         attempt=invocation.attempt, event=event, response=response, raised=raised,
                         reports=tuple(recorder.sent), task=self.task(invocation.task_id))

    def run(self, worker: Worker | type[Worker], payload: dict[str, Any], *,
            labourer_id: str | None = None, task_id: str | None = None, job_id: str | None = None,
            timeout_seconds: float | None = None) -> WorkerRun:
        """Create a task with ``payload``, dispatch it and run ``worker`` on it (attempt 1)."""
        instance = _as_worker(worker)  # a wrong worker is refused before any write
        task = self.create(payload, labourer_id=labourer_id, task_id=task_id, job_id=job_id)
        return self.deliver(instance, self.dispatch(task.task_id), timeout_seconds=timeout_seconds)

    def retry(self, worker: Worker | type[Worker], task: WorkerRun | str, *,
              timeout_seconds: float | None = None) -> WorkerRun:
        """Run the task's next attempt: a RETRYING task waits out its backoff (the clock is
        advanced to its due time) and is queued again as the Scavenger does; a QUEUED one (e.g.
        redriven) is dispatched as it is."""
        instance = _as_worker(worker)
        task_id = task.task_id if isinstance(task, WorkerRun) else task
        row = self.task(task_id)
        if row.state is TaskState.RETRYING:
            due_at = row.deadline_at if row.deadline_at is not None else self.clock.now()
            self.clock.advance(max(0.0, due_at - self.clock.now()))
            outcome = self.store.tasks.requeue(task_id, row.labourer_id, due_at, self.clock.now(),
                                               attempt=row.attempts)
            if outcome is not Outcome.APPLIED:
                raise HarnessError(f"task {task_id!r} changed while being queued again ({outcome.value})")
        elif row.state is not TaskState.QUEUED:
            raise HarnessError(f"task {task_id!r} is {row.state.value}; only a retrying or queued task "
                               "runs again")
        return self.deliver(instance, self.dispatch(task_id), timeout_seconds=timeout_seconds)

    def redeliver(self, worker: Worker | type[Worker], run: WorkerRun, *,
                  timeout_seconds: float | None = None) -> WorkerRun:
        """Deliver ``run``'s event again, as Lambda may (at-least-once): same attempt, same token."""
        return self.deliver(worker, run.event, timeout_seconds=timeout_seconds)

    # -- the Scavenger's part ----------------------------------------------------------------
    def expire(self, task_id: str) -> Task:
        """Let an INVOKED task's lease run out (the clock moves to its end) and expire it as the
        Scavenger does: RETRYING, or DEAD when its attempts are used up."""
        row = self.task(task_id)
        if row.state is not TaskState.INVOKED or row.deadline_at is None:
            raise HarnessError(f"task {task_id!r} is {row.state.value}; only an invoked task has a lease")
        self.clock.advance(max(0.0, row.deadline_at - self.clock.now()))
        outcome, _ = self.store.tasks.expire(task_id, row.attempts, self.config.labourer(row.labourer_id),
                                             self.clock.now())
        if outcome is not Outcome.APPLIED:
            raise HarnessError(f"task {task_id!r} changed while its lease ran out ({outcome.value})")
        return self.task(task_id)

"""What the services need from the world, as small protocols: one per role a store plays for a service.

Each service takes exactly the calls it makes, so a reader sees what it can touch and a test can
hand it a few methods. Every store backend (the DynamoDB adapter, the memory store) satisfies
them structurally, with the same return values (:mod:`sosw_core.domain.outcomes`) and the same
exceptions (:mod:`sosw_core.errors`); the guard each write applies, and the race it prevents, is
documented on the backend's method.

=======================  =================================  ==========================================
service                  store role                         protocol
=======================  =================================  ==========================================
Orchestrator             tasks / queries / leases           :class:`TaskClaimer`, :class:`QueueReader`,
                                                            :class:`DispatchLock`
HandOff                  tasks / queries                    :class:`TaskCompleter`, :class:`QueueHead`
WorkerAssistant          tasks                              :class:`ReportWriter`
Scavenger                tasks / queries                    :class:`DeadlineWriter`, :class:`DueReader`
Ingestor (Scheduler)     jobs / batch / documents           :class:`JobLedger`, :class:`TaskRowWriter`,
                                                            :class:`JobBodyStore`
=======================  =================================  ==========================================

Besides the store: :class:`Invoker` (start a function asynchronously), :class:`Notifier` (dead-task
alerts), :class:`MetricsReader` (health metrics) and :class:`LambdaContext` (time left). This module
imports no AWS library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sosw_core.config.model import HealthMetric, LabourerConfig
from sosw_core.domain.job_document import StoredBody
from sosw_core.domain.job_record import JobRecord
from sosw_core.domain.outcomes import DueRef, HandOffResult, Outcome, QueuedRef
from sosw_core.domain.task import Task, TaskState


# -- the task store --------------------------------------------------------------------------
class TaskReleaser(Protocol):
    def release(self, task: Task, now: float, reason: str) -> Outcome:
        """Give a claimed task back (its invoke was refused): QUEUED, attempt not counted."""


class TaskClaimer(TaskReleaser, Protocol):
    def claim(self, task_id: str, seen_attempts: int, labourer: LabourerConfig, now: float) -> Task | None:
        """QUEUED → INVOKED with a fresh lease; None when another claimer (or a close) came first."""


class TaskCompleter(TaskReleaser, Protocol):
    def complete(self, task_id: str, token: str, attempt: int, now: float, *,
                 labourer_id: str | None = None, result: dict[str, Any] | None = None,
                 stats: dict[str, Any] | None = None) -> Outcome:
        """Close the task as COMPLETED (idempotent); raises ReportRejected or TaskNotFound."""

    def complete_and_claim(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                           now: float, next_ref: QueuedRef, *, result: dict[str, Any] | None = None,
                           stats: dict[str, Any] | None = None) -> HandOffResult:
        """Complete the task and claim ``next_ref`` in one transaction (a completion hand-off)."""


class ReportWriter(Protocol):
    def complete(self, task_id: str, token: str, attempt: int, now: float, *,
                 labourer_id: str | None = None, result: dict[str, Any] | None = None,
                 stats: dict[str, Any] | None = None) -> Outcome: ...

    def get(self, task_id: str) -> Task:
        """The task as it is now (TaskNotFound if there is none)."""

    def fail(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig, now: float, *,
             error_type: str, message: str, result: dict[str, Any] | None = None,
             stats: dict[str, Any] | None = None) -> tuple[Outcome, TaskState | None]:
        """End the current attempt as failed: RETRYING (backoff) or DEAD; the state it went to."""

    def heartbeat(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                  now: float) -> Outcome:
        """Extend the current attempt's lease; STALE when the attempt is no longer current."""


class DeadlineWriter(Protocol):
    def expire(self, task_id: str, seen_attempts: int, labourer: LabourerConfig,
               now: float) -> tuple[Outcome, TaskState | None]:
        """End a lease that ran out: INVOKED → RETRYING or DEAD."""

    def requeue(self, task_id: str, labourer_id: str, due_at: float, now: float, *,
                attempt: int = 0) -> Outcome:
        """RETRYING → QUEUED once its backoff has elapsed."""

    def take_alert(self, task_id: str) -> Task | None:
        """Take a dead task's pending alert; None when another scavenger took it."""

    def return_alert(self, task_id: str, labourer_id: str, now: float) -> bool:
        """Put back an alert that could not be published; False when the task is no longer dead."""


# -- the task indexes ------------------------------------------------------------------------
class QueueHead(Protocol):
    def next_queued(self, labourer_id: str, limit: int) -> list[QueuedRef]:
        """The first ``limit`` runnable tasks of the labourer's queue (eventually consistent)."""


class QueueReader(QueueHead, Protocol):
    def count_running(self, labourer_id: str) -> int:
        """Tasks of the labourer in INVOKED."""


class DueReader(Protocol):
    def due(self, labourer_id: str, now: float, limit: int) -> list[DueRef]:
        """Rows of the deadline index whose time has come (leases, backoffs, pending alerts)."""


class DispatchLock(Protocol):
    def acquire(self, labourer_id: str, owner: str, now: float, seconds: float) -> bool:
        """Take the labourer's dispatch lease for ``seconds``; False when someone else holds it."""

    def release(self, labourer_id: str, owner: str) -> bool:
        """Give the lease back; False when it was no longer ``owner``'s."""


# -- the Scheduler's store -------------------------------------------------------------------
class JobLedger(Protocol):
    """The job records: one per job, fenced by an owner and its lease."""

    def get(self, job_id: str) -> JobRecord | None: ...

    def start(self, job_id: str, labourer_id: str, job_json: str, owner: str, now: float,
              lease_seconds: float, *, total: int | None = None, as_of: str | None = None,
              chunkable_attrs: tuple[str, ...] = ()) -> JobRecord | None:
        """Create the record, leased to ``owner``; None when the job exists already."""

    def take_over(self, job_id: str, owner: str, now: float, lease_seconds: float) -> JobRecord | None:
        """Lease an INGESTING job that has no owner or an expired lease; None otherwise."""

    def advance(self, job_id: str, owner: str, old_cursor: int, new_cursor: int, now: float,
                lease_seconds: float) -> bool:
        """Move the cursor past a written page (and renew the lease); False when fenced off."""

    def hand_over(self, job_id: str, owner: str, cursor: int, now: float, *,
                  error: str | None = None) -> bool:
        """Give the lease up at ``cursor`` for a continuation; False when fenced off."""

    def finish(self, job_id: str, owner: str, total: int, now: float) -> bool:
        """INGESTING → DONE once the cursor reached ``total``; False when fenced off."""

    def fail(self, job_id: str, owner: str, error: str, now: float) -> bool:
        """INGESTING → FAILED; False when fenced off."""


RowFactory = Callable[[str, str, str | None, str], Any]
"""``(task_id, labourer_id, job_id, payload_json)`` → a new QUEUED task row, in the form the
backend writes (opaque to the Scheduler, which only passes it back to ``write_rows``)."""


class TaskRowWriter(Protocol):
    """Batched creation of task rows (no condition: the Scheduler's job lease keeps one writer)."""

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Which of these task ids exist (a consistent read)."""

    def row_factory(self, now: float) -> RowFactory:
        """Builds the rows of tasks created at ``now`` (the shared parts made once)."""

    def write_rows(self, rows: Sequence[Any]) -> None:
        """Put every row; raises BatchIncomplete rather than drop one."""


class JobBodyStore(Protocol):
    """Large job bodies, kept in parts (see :mod:`sosw_core.domain.job_document`)."""

    def write_parts(self, job_id: str, stored: StoredBody, now: float) -> int:
        """Put the body's parts (idempotent); how many were written."""

    def body(self, job_id: str, record_value: Any) -> dict[str, Any]:
        """The job body a record's ``job`` value stands for; JobDocumentMissing if unreadable."""


# -- the rest of the world -------------------------------------------------------------------
class Invoker(Protocol):
    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        """Start ``function_name`` with ``event`` asynchronously (InvocationType=Event).

        Returns once the invocation is accepted; raises :class:`~sosw_core.errors.InvokeError`
        if it was not (anything else: it may have been accepted).
        """


@dataclass(frozen=True)
class DeadTaskAlert:
    """One dead task, as an alert names it."""

    task_id: str
    labourer_id: str
    attempts: int
    error_type: str | None
    error_message: str | None


class Notifier(Protocol):
    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        """Publish one batch of alerts (one scavenger pass); raise if it could not be sent."""


class MetricsReader(Protocol):
    def value(self, metric: HealthMetric) -> float | None:
        """The metric's statistic over its window (``domain.health.window_value``); None without data."""


MetricsReaderFactory = Callable[[float], MetricsReader]
"""``now`` → a health-metrics reader cached for that tick (a metric several labourers share is
read once)."""


class LambdaContext(Protocol):
    """The part of Lambda's context object the services read."""

    def get_remaining_time_in_millis(self) -> int: ...

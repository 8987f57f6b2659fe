"""The task store: every state change of a task is one guarded DynamoDB write.

Each transition method states the race its condition prevents. Concurrent orchestrators,
duplicate Lambda deliveries and late reports are normal events: a write whose condition
fails changes nothing, and the method says what happened instead (an :class:`Outcome`).
"""

from __future__ import annotations

import logging
import secrets
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from sosw_core.adapters.dynamodb.convert import to_task
from sosw_core.adapters.dynamodb.errors import dynamodb_errors, guarded_update, is_condition_failure
from sosw_core.adapters.dynamodb.models import Models, TaskModel
from sosw_core.config.model import LabourerConfig, RetentionConfig
from sosw_core.domain.outcomes import REJECT_BAD_TOKEN, REJECT_DEAD, HandOffResult, Outcome, QueuedRef
from sosw_core.domain.task import (
    EventKind,
    NewTask,
    Task,
    TaskEvent,
    TaskState,
    after_failure,
    queue_sort_key,
    retention_expiry,
)
from sosw_core.errors import ReportRejected, TaskNotFound

logger = logging.getLogger(__name__)

class TaskStore:
    """Guarded writes and point reads of tasks. Queries live in :mod:`.queries`."""

    def __init__(self, models: Models, *, retention: RetentionConfig | None = None,
                 endpoint: str | None = None):
        self.models = models
        self.retention = retention or RetentionConfig()
        self.endpoint = endpoint
        self._task = models.task

    # -- helpers -------------------------------------------------------------------------
    def _errors(self) -> AbstractContextManager[None]:
        return dynamodb_errors(self._task.Meta.table_name, self.endpoint)

    def _update(self, task_id: str, actions: list[Action], condition: Condition) -> Task | None:
        """One UpdateItem; the new row, or None when the condition failed."""
        row = self._task(task_id)
        with self._errors():
            written = guarded_update(row, actions, condition)
        return to_task(row) if written else None

    def _event(self, kind: EventKind, attempt: int, now: float, detail: str = "") -> Action:
        return self._task.events.set(
            self._task.events.append([TaskEvent(now, kind, attempt, detail).to_item()]))

    def new_row(self, new: NewTask, now: float) -> TaskModel:
        """The row a fresh task starts as (QUEUED, in the queue index)."""
        return self._task(
            new.task_id, labourer_id=new.labourer_id, job_id=new.job_id, payload=new.payload_json,
            state=TaskState.QUEUED.value, attempts=0, token=secrets.token_urlsafe(24),
            created_at=now, updated_at=now, queue_pk=new.labourer_id,
            queue_sk=queue_sort_key(created_at=now, task_id=new.task_id),
            events=[TaskEvent(now, EventKind.CREATED, 0).to_item()],
        )

    # -- reads ---------------------------------------------------------------------------
    def get(self, task_id: str) -> Task:
        with self._errors():
            try:
                return to_task(self._task.get(task_id, consistent_read=True))
            except self._task.DoesNotExist:
                raise TaskNotFound(task_id) from None

    def find(self, task_id: str) -> Task | None:
        try:
            return self.get(task_id)
        except TaskNotFound:
            return None

    # -- create --------------------------------------------------------------------------
    def create(self, new: NewTask, now: float) -> bool:
        """Create one task; False if a task with that id exists (re-creating is a no-op).

        Guard ``attribute_not_exists(task_id)``: a re-sent job must not reset a task that
        was already claimed or completed back to QUEUED (which would run it again).
        """
        row = self.new_row(new, now)
        with self._errors():
            try:
                row.save(condition=self._task.task_id.does_not_exist())
            except PutError as exc:
                if is_condition_failure(exc):
                    return False
                raise
        return True

    # -- dispatch ------------------------------------------------------------------------
    def claim(self, task_id: str, seen_attempts: int, labourer: LabourerConfig, now: float) -> Task | None:
        """QUEUED → INVOKED for one task; None if someone else claimed it first.

        Guard ``state = queued AND attempts = <attempts seen in the queue index>``: of any
        number of orchestrators that read the same task from the (eventually consistent) queue
        index, exactly one write succeeds; the others see the condition fail and move on. The
        attempt counter is incremented in the same write, and the lease (``deadline_at``)
        starts now. Timeline::

            orchestrator A: query → task t (attempts 0) ─ update(if queued & 0) ✔ attempt 1
            orchestrator B: query → task t (attempts 0) ───── update(if queued & 0) ✘ skip
        """
        return self._update(task_id, *self._claim_parts(seen_attempts, labourer, now))

    def _claim_parts(self, seen_attempts: int, labourer: LabourerConfig,
                     now: float) -> tuple[list[Action], Condition]:
        """The actions and guard of a claim (shared by :meth:`claim` and the hand-off)."""
        t = self._task
        attempt = seen_attempts + 1
        return [
            t.state.set(TaskState.INVOKED.value),
            t.attempts.set(attempt),
            t.updated_at.set(now),
            t.queue_pk.remove(), t.queue_sk.remove(),
            t.deadline_pk.set(labourer.id),
            t.deadline_at.set(now + labourer.max_duration_seconds),
            self._event(EventKind.CLAIMED, attempt, now),
        ], ((t.state == TaskState.QUEUED.value) & (t.attempts == seen_attempts)
            & (t.labourer_id == labourer.id))

    def release(self, task: Task, now: float, reason: str) -> Outcome:
        """INVOKED → QUEUED (front of the queue) when the invoke failed right after the claim.

        Guard ``state = invoked AND attempts = <claimed attempt>``: only the claimer that holds
        this attempt can give it back; the attempt is not counted against the task.
        """
        t = self._task
        row = self._update(task.task_id, [
            t.state.set(TaskState.QUEUED.value),
            t.attempts.set(t.attempts - 1),
            t.updated_at.set(now),
            t.deadline_pk.remove(), t.deadline_at.remove(),
            t.queue_pk.set(task.labourer_id),
            t.queue_sk.set(queue_sort_key(created_at=task.created_at, task_id=task.task_id, due_at=now)),
            self._event(EventKind.RELEASED, task.attempts, now, reason[:500]),
        ], (t.state == TaskState.INVOKED.value) & (t.attempts == task.attempts))
        return Outcome.APPLIED if row else Outcome.LOST_RACE

    def complete_and_claim(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                           now: float, next_ref: QueuedRef, *, result: dict[str, Any] | None = None,
                           stats: dict[str, Any] | None = None) -> HandOffResult:
        """Complete ``task_id`` and claim ``next_ref`` in one transaction (see :mod:`.handoff`)."""
        from sosw_core.adapters.dynamodb.handoff import complete_and_claim  # the module imports this one

        return complete_and_claim(self, task_id, token, attempt, labourer, now, next_ref,
                                  result=result, stats=stats)

    # -- worker reports ------------------------------------------------------------------
    def _explain(self, task_id: str, token: str, labourer_id: str | None = None) -> Task:
        """After a report's condition failed: the task as it is now, or the reason to refuse."""
        task = self.get(task_id)  # raises TaskNotFound: an update never creates a row here
        if not secrets.compare_digest(task.token.encode(), token.encode()):
            raise ReportRejected(task_id, REJECT_BAD_TOKEN)
        if labourer_id is not None and task.labourer_id != labourer_id:
            raise ReportRejected(task_id, f"the report names labourer {labourer_id!r}; "
                                          f"the task belongs to {task.labourer_id!r}")
        return task

    def heartbeat(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                  now: float) -> Outcome:
        """Extend the lease of the current attempt by the labourer's max duration.

        Guard ``token AND state = invoked AND attempts = attempt``: a heartbeat from an
        attempt that already expired (and was retried) must not extend the new attempt's lease.
        """
        t = self._task
        row = self._update(task_id, [
            t.deadline_at.set(now + labourer.max_duration_seconds),
            t.updated_at.set(now),
            self._event(EventKind.HEARTBEAT, attempt, now),
        ], (t.token == token) & (t.state == TaskState.INVOKED.value) & (t.attempts == attempt)
           & (t.labourer_id == labourer.id))
        if row:
            return Outcome.APPLIED
        self._explain(task_id, token, labourer.id)
        return Outcome.STALE

    def complete(self, task_id: str, token: str, attempt: int, now: float, *,
                 labourer_id: str | None = None, result: dict[str, Any] | None = None,
                 stats: dict[str, Any] | None = None) -> Outcome:
        """An open task → COMPLETED: the work of ``attempt`` finished.

        Guard ``token [AND labourer_id] AND (state IN (queued, retrying) OR (state = invoked
        AND attempts = attempt))``. Accepted also when the lease ran out and the task was
        already scheduled for retry or queued again: the work is done, so the task leaves every
        index that could dispatch it and is never run again. Refused as STALE while a *newer*
        attempt is INVOKED: that run is still going, and closing the task under it would stop
        counting it against the labourer's concurrency limit (the newer attempt reports for
        itself). A second report (a duplicate Lambda delivery) finds the task COMPLETED and
        changes nothing. The token check also makes sure the row exists: an update never
        creates a task without its labourer. Timeline of a late completion::

            attempt 1: claimed ─ runs past its lease ──────────────── complete ✔ (COMPLETED)
            scavenger:             expire → RETRYING ─ requeue → QUEUED
            orchestrator:                                      claim ✘ (state is completed)
        """
        actions, condition = self._complete_parts(token, attempt, now, labourer_id, result, stats)
        if self._update(task_id, actions, condition):
            return Outcome.APPLIED
        return self._explain_completion(task_id, token, labourer_id)

    def _complete_parts(self, token: str, attempt: int, now: float, labourer_id: str | None,
                        result: dict[str, Any] | None, stats: dict[str, Any] | None,
                        *, current_only: bool = False) -> tuple[list[Action], Condition]:
        """The actions and guard of a completion; ``current_only``: the INVOKED attempt only."""
        t = self._task
        actions: list[Action] = [
            t.state.set(TaskState.COMPLETED.value),
            t.updated_at.set(now),
            t.queue_pk.remove(), t.queue_sk.remove(),
            t.deadline_pk.remove(), t.deadline_at.remove(),
            t.closed_pk.set(t.labourer_id), t.closed_at.set(now),
            self._event(EventKind.COMPLETED, attempt, now),
        ]
        expiry = retention_expiry(now, self.retention.completed_days)
        if expiry is not None:
            actions.append(t.expires_at.set(datetime.fromtimestamp(expiry, UTC)))
        if result is not None:
            actions.append(t.result.set(result))
        if stats is not None:
            actions.append(t.stats.set(stats))
        running = (t.state == TaskState.INVOKED.value) & (t.attempts == attempt)
        state_ok = running if current_only else (
            t.state.is_in(TaskState.QUEUED.value, TaskState.RETRYING.value) | running)
        condition = (t.token == token) & state_ok
        if labourer_id is not None:
            condition &= t.labourer_id == labourer_id
        return actions, condition

    def _explain_completion(self, task_id: str, token: str, labourer_id: str | None) -> Outcome:
        task = self._explain(task_id, token, labourer_id)
        if task.state is TaskState.DEAD:
            raise ReportRejected(task_id, REJECT_DEAD)
        return Outcome.DUPLICATE if task.state is TaskState.COMPLETED else Outcome.STALE

    def _after_failure_actions(self, labourer: LabourerConfig, attempt: int, now: float,
                               kind: EventKind, error_type: str, message: str) -> tuple[list[Action], TaskState]:
        t = self._task
        decision = after_failure(attempts=attempt, max_attempts=labourer.max_attempts,
                                 backoff=labourer.backoff, now=now)
        actions: list[Action] = [
            t.state.set(decision.state.value),
            t.updated_at.set(now),
            t.error_type.set(error_type[:200]),
            t.error_message.set(message[:2000]),
        ]
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        detail = f"{error_type}: {first_line}"[:300]  # the history stays one line per event
        if decision.due_at is not None:  # RETRYING (a DEAD decision has no due time)
            # Stays in the deadline index: the scavenger requeues it when the backoff is over.
            actions += [t.deadline_at.set(decision.due_at),
                        t.events.set(t.events.append([
                            TaskEvent(now, kind, attempt, detail).to_item(),
                            TaskEvent(now, EventKind.RETRY_SCHEDULED, attempt,
                                      f"due in {decision.due_at - now:.1f}s").to_item()]))]
        else:
            # Stays in the deadline index (due now) until the scavenger has sent its alert.
            actions += [t.deadline_at.set(now), t.closed_pk.set(labourer.id), t.closed_at.set(now),
                        t.events.set(t.events.append([
                            TaskEvent(now, kind, attempt, detail).to_item(),
                            TaskEvent(now, EventKind.DEAD, attempt).to_item()]))]
            expiry = retention_expiry(now, self.retention.dead_days)
            if expiry is not None:
                actions.append(t.expires_at.set(datetime.fromtimestamp(expiry, UTC)))
        return actions, decision.state

    def fail(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig, now: float, *,
             error_type: str, message: str, result: dict[str, Any] | None = None,
             stats: dict[str, Any] | None = None) -> tuple[Outcome, TaskState | None]:
        """INVOKED → RETRYING (with backoff) or DEAD (attempts used up), at once.

        Guard ``token AND state = invoked AND attempts = attempt``: a failure reported by an
        attempt that is no longer current (its lease expired and the scavenger already counted
        it, or a completion was accepted) is ignored, so one attempt is never counted twice.
        ``result``/``stats`` the failing attempt reported are kept (a later report that carries
        its own replaces them).
        """
        t = self._task
        actions, state = self._after_failure_actions(labourer, attempt, now, EventKind.FAILED,
                                                     error_type, message)
        if result is not None:
            actions.append(t.result.set(result))
        if stats is not None:
            actions.append(t.stats.set(stats))
        if self._update(task_id, actions, (t.token == token) & (t.state == TaskState.INVOKED.value)
                        & (t.attempts == attempt) & (t.labourer_id == labourer.id)):
            return Outcome.APPLIED, state
        self._explain(task_id, token, labourer.id)
        return Outcome.STALE, None

    # -- scavenging ----------------------------------------------------------------------
    def expire(self, task_id: str, seen_attempts: int, labourer: LabourerConfig,
               now: float) -> tuple[Outcome, TaskState | None]:
        """INVOKED past its lease → RETRYING or DEAD, like a failure.

        Guard ``state = invoked AND attempts = seen AND deadline_at <= now``: a heartbeat that
        extended the lease, a completion or failure that arrived first, or another scavenger
        that expired it already all make this a no-op.
        """
        t = self._task
        actions, state = self._after_failure_actions(
            labourer, seen_attempts, now, EventKind.EXPIRED, "LeaseExpired",
            f"no report within {labourer.max_duration_seconds}s")
        if self._update(task_id, actions, (t.state == TaskState.INVOKED.value)
                        & (t.attempts == seen_attempts) & (t.deadline_at <= now)
                        & (t.labourer_id == labourer.id)):
            return Outcome.APPLIED, state
        return Outcome.LOST_RACE, None

    def requeue(self, task_id: str, labourer_id: str, due_at: float, now: float, *,
                attempt: int = 0) -> Outcome:
        """RETRYING whose backoff elapsed → QUEUED, ahead of fresh tasks.

        Guard ``state = retrying AND deadline_at <= now``: a late completion that closed the
        task meanwhile wins, and two scavengers cannot queue it twice.
        """
        t = self._task
        row = self._update(task_id, [
            t.state.set(TaskState.QUEUED.value), t.updated_at.set(now),
            t.deadline_pk.remove(), t.deadline_at.remove(),
            t.queue_pk.set(labourer_id),
            t.queue_sk.set(queue_sort_key(created_at=due_at, task_id=task_id, due_at=due_at)),
            self._event(EventKind.REQUEUED, attempt, now),
        ], (t.state == TaskState.RETRYING.value) & (t.deadline_at <= now))
        return Outcome.APPLIED if row else Outcome.LOST_RACE

    def take_alert(self, task_id: str) -> Task | None:
        """Claim the right to alert about a DEAD task: the task for exactly one caller, else None.

        Guard ``state = dead AND attribute_exists(deadline_pk)``: two scavengers that both saw
        the dead task in the deadline index send one alert between them. The row the update
        returns carries what the alert says (attempts, last error): no second read.
        """
        t = self._task
        return self._update(task_id, [t.deadline_pk.remove(), t.deadline_at.remove()],
                            (t.state == TaskState.DEAD.value) & t.deadline_pk.exists())

    def return_alert(self, task_id: str, labourer_id: str, now: float) -> bool:
        """Put a taken alert back (publishing it failed) so the next pass sends it."""
        t = self._task
        return self._update(task_id, [t.deadline_pk.set(labourer_id), t.deadline_at.set(now)],
                            (t.state == TaskState.DEAD.value) & t.deadline_pk.does_not_exist()) is not None

    def redrive(self, task_id: str, now: float) -> Outcome:
        """DEAD → QUEUED with a fresh attempt budget, at the front of its labourer's queue.

        Guard ``state = dead``: redriving twice (two operators, a retried CLI call) queues it once.
        """
        t = self._task
        row = self._update(task_id, [
            t.state.set(TaskState.QUEUED.value), t.attempts.set(0), t.updated_at.set(now),
            t.closed_pk.remove(), t.closed_at.remove(), t.expires_at.remove(),
            t.deadline_pk.remove(), t.deadline_at.remove(),
            t.queue_pk.set(t.labourer_id),
            t.queue_sk.set(queue_sort_key(created_at=now, task_id=task_id, due_at=now)),
            self._event(EventKind.REDRIVEN, 0, now),
        ], t.state == TaskState.DEAD.value)
        return Outcome.APPLIED if row else Outcome.LOST_RACE

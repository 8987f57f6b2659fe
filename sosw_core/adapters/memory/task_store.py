"""The task store in memory: the DynamoDB task store's methods, guards, outcomes and errors.

Every state change is one guarded write (:meth:`MemoryTables.write`): the guard is the
predicate of the DynamoDB condition expression of the same method, evaluated with the change
under one lock. The race each guard prevents is stated beside it briefly; the timelines are in
the docstrings of :class:`sosw_core.adapters.dynamodb.task_store.TaskStore`, whose behaviour
this class copies (the contract suite in ``tests/contract`` runs both).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from sosw_core.adapters.memory.items import Item, Row, as_map, encode_item
from sosw_core.adapters.memory.tables import MemoryTables, has, remove
from sosw_core.config.model import LabourerConfig, RetentionConfig
from sosw_core.domain.outcomes import (
    NEXT_TAKEN,
    REJECT_BAD_TOKEN,
    REJECT_DEAD,
    HandOffResult,
    Outcome,
    QueuedRef,
)
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

Guard = Callable[[Row], bool]
Change = Callable[[Row], None]
Write = tuple[Guard, Change]  # what one UpdateItem would send: its condition and its actions


def to_task(row: Row) -> Task:
    """A row as the domain's frozen :class:`Task` (maps copied: the caller may change them)."""
    return Task(
        task_id=row["task_id"], labourer_id=row["labourer_id"], state=TaskState(row["state"]),
        payload=json.loads(row["payload"]), attempts=int(row.get("attempts") or 0), token=row["token"],
        created_at=float(row["created_at"]), updated_at=float(row["updated_at"]),
        job_id=row.get("job_id"),
        deadline_at=None if row.get("deadline_at") is None else float(row["deadline_at"]),
        closed_at=None if row.get("closed_at") is None else float(row["closed_at"]),
        error_type=row.get("error_type"), error_message=row.get("error_message"),
        result=json.loads(json.dumps(row["result"])) if row.get("result") is not None else None,
        stats=json.loads(json.dumps(row["stats"])) if row.get("stats") is not None else None,
        events=tuple(TaskEvent.from_item(e) for e in row.get("events") or ()),
    )


def new_task_row(new: NewTask, now: float) -> Row:
    """The row a fresh task starts as (QUEUED, in the queue index); the DynamoDB one's fields."""
    row: Row = {
        "task_id": new.task_id, "labourer_id": new.labourer_id, "payload": new.payload_json,
        "state": TaskState.QUEUED.value, "attempts": 0, "token": secrets.token_urlsafe(24),
        "created_at": now, "updated_at": now, "queue_pk": new.labourer_id,
        "queue_sk": queue_sort_key(created_at=now, task_id=new.task_id),
        "events": [TaskEvent(now, EventKind.CREATED, 0).to_item()],
    }
    if new.job_id is not None:
        row["job_id"] = new.job_id
    return row


def _append(row: Row, *events: TaskEvent) -> None:
    """``SET events = list_append(events, [...])`` (a new list: rows are copy-on-write)."""
    row["events"] = [*(row.get("events") or ()), *(e.to_item() for e in events)]


def _is(state: TaskState) -> Guard:
    return lambda row: row.get("state") == state.value


class MemoryTaskStore:
    """Guarded writes and point reads of tasks. Queries live in :mod:`.queries`."""

    def __init__(self, tables: MemoryTables, *, retention: RetentionConfig | None = None):
        self.tables = tables
        self.retention = retention or RetentionConfig()

    def _write(self, task_id: str, write: Write) -> Task | None:
        guard, change = write
        row = self.tables.write(self.tables.tasks, "task_id", task_id, guard, change)
        return to_task(row) if row is not None else None

    def new_row(self, new: NewTask, now: float) -> Item:
        """The item a fresh task starts as, in the low-level format batch writes take."""
        return encode_item(new_task_row(new, now))

    # -- reads ---------------------------------------------------------------------------
    def get(self, task_id: str) -> Task:
        with self.tables.lock:
            row = self.tables.tasks.get(task_id)
        if row is None:
            raise TaskNotFound(task_id)
        return to_task(row)

    def find(self, task_id: str) -> Task | None:
        try:
            return self.get(task_id)
        except TaskNotFound:
            return None

    # -- create --------------------------------------------------------------------------
    def create(self, new: NewTask, now: float) -> bool:
        """Create one task; False if a task with that id exists.

        Guard ``attribute_not_exists(task_id)``: a re-sent job must not reset a claimed or
        completed task to QUEUED.
        """
        return self.tables.put(self.tables.tasks, new.task_id, new_task_row(new, now),
                               guard=lambda row: not has(row, "task_id"))

    # -- dispatch ------------------------------------------------------------------------
    def claim(self, task_id: str, seen_attempts: int, labourer: LabourerConfig, now: float) -> Task | None:
        """QUEUED → INVOKED; None if someone else claimed it first.

        Guard ``state = queued AND attempts = seen AND labourer_id``: of N claimers that read
        the task from the queue, exactly one write succeeds.
        """
        return self._write(task_id, self._claim(seen_attempts, labourer, now))

    def _claim(self, seen_attempts: int, labourer: LabourerConfig, now: float) -> Write:
        attempt = seen_attempts + 1

        def guard(row: Row) -> bool:
            return (row.get("state") == TaskState.QUEUED.value and row.get("attempts") == seen_attempts
                    and row.get("labourer_id") == labourer.id)

        def change(row: Row) -> None:
            row.update(state=TaskState.INVOKED.value, attempts=attempt, updated_at=now,
                       deadline_pk=labourer.id, deadline_at=now + labourer.max_duration_seconds)
            remove(row, "queue_pk", "queue_sk")
            _append(row, TaskEvent(now, EventKind.CLAIMED, attempt))

        return guard, change

    def release(self, task: Task, now: float, reason: str) -> Outcome:
        """INVOKED → QUEUED (front of the queue) when the invoke failed right after the claim.

        Guard ``state = invoked AND attempts = <claimed attempt>``: only the claimer holding
        this attempt can give it back.
        """
        def guard(row: Row) -> bool:
            return row.get("state") == TaskState.INVOKED.value and row.get("attempts") == task.attempts

        def change(row: Row) -> None:
            row.update(state=TaskState.QUEUED.value, attempts=row["attempts"] - 1, updated_at=now,
                       queue_pk=task.labourer_id,
                       queue_sk=queue_sort_key(created_at=task.created_at, task_id=task.task_id, due_at=now))
            remove(row, "deadline_pk", "deadline_at")
            _append(row, TaskEvent(now, EventKind.RELEASED, task.attempts, reason[:500]))

        return Outcome.APPLIED if self._write(task.task_id, (guard, change)) else Outcome.LOST_RACE

    def complete_and_claim(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                           now: float, next_ref: QueuedRef, *, result: dict[str, Any] | None = None,
                           stats: dict[str, Any] | None = None) -> HandOffResult:
        """Complete ``task_id`` and claim ``next_ref`` atomically (both or neither).

        The transaction of :mod:`sosw_core.adapters.dynamodb.handoff`, under the store's lock:
        the running count never drops between the completion and the claim, so an
        orchestrator counting meanwhile cannot fill the slot twice. When only the claim's guard
        fails (``next_ref`` was claimed first) nothing is written and :data:`NEXT_TAKEN` is
        returned; when the completion's own guard fails, :meth:`complete` decides.
        """
        done = (task_id, *self._completion(token, attempt, now, labourer.id, result, stats,
                                           current_only=True))
        claim = (next_ref.task_id, *self._claim(next_ref.attempts, labourer, now))
        passed, rows = self.tables.transact(self.tables.tasks, "task_id", [done, claim])
        if rows is not None:
            return HandOffResult(Outcome.APPLIED, to_task(rows[1]))
        if passed[0]:
            return NEXT_TAKEN  # only the claim failed: the caller may try another queued task
        outcome = self.complete(task_id, token, attempt, now, labourer_id=labourer.id,
                                result=result, stats=stats)
        return HandOffResult(outcome, None)

    # -- worker reports ------------------------------------------------------------------
    def _explain(self, task_id: str, token: str, labourer_id: str | None = None) -> Task:
        """After a report's guard failed: the task as it is now, or the reason to refuse."""
        task = self.get(task_id)  # raises TaskNotFound: an update never creates a task here
        if not secrets.compare_digest(task.token.encode(), token.encode()):
            raise ReportRejected(task_id, REJECT_BAD_TOKEN)
        if labourer_id is not None and task.labourer_id != labourer_id:
            raise ReportRejected(task_id, f"the report names labourer {labourer_id!r}; "
                                          f"the task belongs to {task.labourer_id!r}")
        return task

    @staticmethod
    def _current(token: str, attempt: int, labourer_id: str) -> Guard:
        """``token AND state = invoked AND attempts = attempt AND labourer_id``."""
        return lambda row: (row.get("token") == token and row.get("state") == TaskState.INVOKED.value
                            and row.get("attempts") == attempt and row.get("labourer_id") == labourer_id)

    def heartbeat(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig,
                  now: float) -> Outcome:
        """Extend the current attempt's lease by the labourer's max duration.

        Guard ``token AND state = invoked AND attempts = attempt AND labourer_id``: a heartbeat
        of an attempt that already expired must not extend the retry's lease.
        """
        def change(row: Row) -> None:
            row.update(deadline_at=now + labourer.max_duration_seconds, updated_at=now)
            _append(row, TaskEvent(now, EventKind.HEARTBEAT, attempt))

        if self._write(task_id, (self._current(token, attempt, labourer.id), change)):
            return Outcome.APPLIED
        self._explain(task_id, token, labourer.id)
        return Outcome.STALE

    def complete(self, task_id: str, token: str, attempt: int, now: float, *,
                 labourer_id: str | None = None, result: dict[str, Any] | None = None,
                 stats: dict[str, Any] | None = None) -> Outcome:
        """An open task → COMPLETED: the work of ``attempt`` finished.

        Guard ``token [AND labourer_id] AND (state IN (queued, retrying) OR (state = invoked AND
        attempts = attempt))``: a late completion still closes the task (never run again); one
        is STALE while a newer attempt is INVOKED; a duplicate finds it COMPLETED.
        """
        if self._write(task_id, self._completion(token, attempt, now, labourer_id, result, stats)):
            return Outcome.APPLIED
        task = self._explain(task_id, token, labourer_id)
        if task.state is TaskState.DEAD:
            raise ReportRejected(task_id, REJECT_DEAD)
        return Outcome.DUPLICATE if task.state is TaskState.COMPLETED else Outcome.STALE

    def _completion(self, token: str, attempt: int, now: float, labourer_id: str | None,
                    result: dict[str, Any] | None, stats: dict[str, Any] | None,
                    *, current_only: bool = False) -> Write:
        """The guard and change of a completion; ``current_only``: the INVOKED attempt only."""
        result = None if result is None else as_map(result, "result")
        stats = None if stats is None else as_map(stats, "stats")
        expiry = retention_expiry(now, self.retention.completed_days)
        waiting = (TaskState.QUEUED.value, TaskState.RETRYING.value)

        def guard(row: Row) -> bool:
            running = row.get("state") == TaskState.INVOKED.value and row.get("attempts") == attempt
            state_ok = running if current_only else (row.get("state") in waiting or running)
            return (row.get("token") == token and state_ok
                    and (labourer_id is None or row.get("labourer_id") == labourer_id))

        def change(row: Row) -> None:
            row.update(state=TaskState.COMPLETED.value, updated_at=now, closed_pk=row["labourer_id"],
                       closed_at=now)
            remove(row, "queue_pk", "queue_sk", "deadline_pk", "deadline_at")
            _append(row, TaskEvent(now, EventKind.COMPLETED, attempt, ""))
            if expiry is not None:
                row["expires_at"] = expiry
            if result is not None:
                row["result"] = result
            if stats is not None:
                row["stats"] = stats

        return guard, change

    def _after_failure(self, labourer: LabourerConfig, attempt: int, now: float, kind: EventKind,
                       error_type: str, message: str) -> tuple[Change, TaskState]:
        """What a failed or expired attempt writes: RETRYING with a due time, or DEAD."""
        decision = after_failure(attempts=attempt, max_attempts=labourer.max_attempts,
                                 backoff=labourer.backoff, now=now)
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        failed = TaskEvent(now, kind, attempt, f"{error_type}: {first_line}"[:300])
        due_at = decision.due_at
        expiry = None if due_at is not None else retention_expiry(now, self.retention.dead_days)

        def change(row: Row) -> None:
            row.update(state=decision.state.value, updated_at=now, error_type=error_type[:200],
                       error_message=message[:2000])
            if due_at is not None:  # RETRYING stays in the deadline index until it is due
                row["deadline_at"] = due_at
                _append(row, failed, TaskEvent(now, EventKind.RETRY_SCHEDULED, attempt,
                                               f"due in {due_at - now:.1f}s"))
            else:  # DEAD: in the deadline index (due now) until its alert is sent, and closed
                row.update(deadline_at=now, closed_pk=labourer.id, closed_at=now)
                _append(row, failed, TaskEvent(now, EventKind.DEAD, attempt))
                if expiry is not None:
                    row["expires_at"] = expiry

        return change, decision.state

    def fail(self, task_id: str, token: str, attempt: int, labourer: LabourerConfig, now: float, *,
             error_type: str, message: str, result: dict[str, Any] | None = None,
             stats: dict[str, Any] | None = None) -> tuple[Outcome, TaskState | None]:
        """INVOKED → RETRYING (with backoff) or DEAD (attempts used up).

        Guard ``token AND state = invoked AND attempts = attempt AND labourer_id``: a failure of
        an attempt that is no longer current is ignored, so one attempt is never counted twice.
        ``result``/``stats`` the failing attempt reported are kept, as DynamoDB keeps them.
        """
        failure, state = self._after_failure(labourer, attempt, now, EventKind.FAILED, error_type, message)
        reported = {k: as_map(v, k) for k, v in (("result", result), ("stats", stats)) if v is not None}

        def change(row: Row) -> None:
            failure(row)
            row.update(reported)

        if self._write(task_id, (self._current(token, attempt, labourer.id), change)):
            return Outcome.APPLIED, state
        self._explain(task_id, token, labourer.id)
        return Outcome.STALE, None

    # -- scavenging ----------------------------------------------------------------------
    def expire(self, task_id: str, seen_attempts: int, labourer: LabourerConfig,
               now: float) -> tuple[Outcome, TaskState | None]:
        """INVOKED past its lease → RETRYING or DEAD, like a failure.

        Guard ``state = invoked AND attempts = seen AND deadline_at <= now AND labourer_id``: a
        heartbeat, a report or another scavenger that came first make this a no-op.
        """
        change, state = self._after_failure(
            labourer, seen_attempts, now, EventKind.EXPIRED, "LeaseExpired",
            f"no report within {labourer.max_duration_seconds}s")

        def guard(row: Row) -> bool:
            return (row.get("state") == TaskState.INVOKED.value and row.get("attempts") == seen_attempts
                    and has(row, "deadline_at") and row["deadline_at"] <= now
                    and row.get("labourer_id") == labourer.id)

        if self._write(task_id, (guard, change)):
            return Outcome.APPLIED, state
        return Outcome.LOST_RACE, None

    def requeue(self, task_id: str, labourer_id: str, due_at: float, now: float, *,
                attempt: int = 0) -> Outcome:
        """RETRYING whose backoff elapsed → QUEUED, ahead of fresh tasks.

        Guard ``state = retrying AND deadline_at <= now``: a late completion wins, and two
        scavengers cannot queue it twice.
        """
        def guard(row: Row) -> bool:
            return (row.get("state") == TaskState.RETRYING.value and has(row, "deadline_at")
                    and row["deadline_at"] <= now)

        def change(row: Row) -> None:
            row.update(state=TaskState.QUEUED.value, updated_at=now, queue_pk=labourer_id,
                       queue_sk=queue_sort_key(created_at=due_at, task_id=task_id, due_at=due_at))
            remove(row, "deadline_pk", "deadline_at")
            _append(row, TaskEvent(now, EventKind.REQUEUED, attempt))

        return Outcome.APPLIED if self._write(task_id, (guard, change)) else Outcome.LOST_RACE

    def take_alert(self, task_id: str) -> Task | None:
        """The DEAD task for exactly one caller (who sends its alert), else None.

        Guard ``state = dead AND attribute_exists(deadline_pk)``: two scavengers send one alert.
        """
        return self._write(task_id, (lambda row: _is(TaskState.DEAD)(row) and has(row, "deadline_pk"),
                                     lambda row: remove(row, "deadline_pk", "deadline_at")))

    def return_alert(self, task_id: str, labourer_id: str, now: float) -> bool:
        """Put a taken alert back (publishing it failed) so the next pass sends it.

        Guard ``state = dead AND attribute_not_exists(deadline_pk)``.
        """
        return self._write(task_id, (lambda row: _is(TaskState.DEAD)(row) and not has(row, "deadline_pk"),
                                     lambda row: row.update(deadline_pk=labourer_id, deadline_at=now))) is not None

    def redrive(self, task_id: str, now: float) -> Outcome:
        """DEAD → QUEUED with a fresh attempt budget, at the front of its labourer's queue.

        Guard ``state = dead``: redriving twice queues it once.
        """
        def change(row: Row) -> None:
            row.update(state=TaskState.QUEUED.value, attempts=0, updated_at=now, queue_pk=row["labourer_id"],
                       queue_sk=queue_sort_key(created_at=now, task_id=task_id, due_at=now))
            remove(row, "closed_pk", "closed_at", "expires_at", "deadline_pk", "deadline_at")
            _append(row, TaskEvent(now, EventKind.REDRIVEN, 0))

        return Outcome.APPLIED if self._write(task_id, (_is(TaskState.DEAD), change)) else Outcome.LOST_RACE

"""Reads of the task indexes.

Every queue read sends ``Limit``. The counts on the dispatch path (:meth:`TaskQueries.count_running`,
:meth:`~TaskQueries.count_queued`, :meth:`~TaskQueries.queue_depth_page`) use ``Select=COUNT``;
:meth:`TaskQueries.counts`, for status screens, reads rows (see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.expressions.condition import Condition

from sosw_core.adapters.dynamodb.models import QUEUE_INDEX
from sosw_core.adapters.dynamodb.task_store import TaskStore
from sosw_core.domain.outcomes import DueRef, QueuedRef
from sosw_core.domain.task import Task, TaskState, runnable_since


class TaskQueries:
    def __init__(self, store: TaskStore):
        self.store = store
        self._task = store.models.task

    def next_queued(self, labourer_id: str, limit: int) -> list[QueuedRef]:
        """The next ``limit`` runnable tasks: due retries first, then FIFO (one Query, Limit=limit)."""
        if limit <= 0:
            return []
        with self.store._errors():
            rows = self._task.queue_index.query(labourer_id, limit=limit)
            return [QueuedRef(r.task_id, int(r.attempts or 0), runnable_since(r.queue_sk or ""))
                    for r in rows]

    def count_running(self, labourer_id: str) -> int:
        """Tasks INVOKED now (one Query with Select=COUNT on the deadline index)."""
        with self.store._errors():
            return self._task.deadline_index.count(
                labourer_id, filter_condition=self._task.state == TaskState.INVOKED.value)

    def due(self, labourer_id: str, now: float, limit: int) -> list[DueRef]:
        """Deadline index rows due by ``now``: expired leases, elapsed backoffs, pending alerts."""
        with self.store._errors():
            rows = self._task.deadline_index.query(
                labourer_id, self._task.deadline_at <= now, limit=limit)
            return [DueRef(r.task_id, TaskState(r.state), int(r.attempts or 0), float(r.deadline_at))
                    for r in rows]

    def queue_depth_page(self, labourer_id: str) -> tuple[int, bool]:
        """Queued tasks counted over ONE page of the queue index (one ``Query``, ``Select=COUNT``).

        ``(count, complete)``: ``complete`` is False when DynamoDB stopped at its 1 MB page limit,
        so ``count`` is a lower bound. For metrics, where one request per labourer is the budget.
        """
        with self.store._errors():
            page = self._task._get_connection().query(labourer_id, index_name=QUEUE_INDEX, select="COUNT")
        return int(page.get("Count", 0)), "LastEvaluatedKey" not in page

    def count_queued(self, labourer_id: str) -> int:
        with self.store._errors():
            return self._task.queue_index.count(labourer_id)

    def counts(self, labourer_id: str) -> dict[TaskState, int]:
        """Tasks per state for one labourer, for status screens (never on the dispatch path).

        Only QUEUED is counted with ``Select=COUNT`` (on the queue index). The other states are
        counted by reading rows, page after page to the end: every row of the labourer in the
        deadline index, and every closed task of the labourer the table still keeps (all its
        COMPLETED and DEAD tasks until their TTL, ``retention``, removes them), one ``state``
        attribute each. Its cost therefore grows with the retention, not with the live work.
        """
        counts = dict.fromkeys(TaskState, 0)
        counts[TaskState.QUEUED] = self.count_queued(labourer_id)
        with self.store._errors():
            for index in (self._task.deadline_index, self._task.closed_index):
                for row in index.query(labourer_id, attributes_to_get=["state"]):
                    state = TaskState(row.state)
                    # a DEAD task waiting for its alert is in both indexes: count it once
                    if index is self._task.deadline_index and state is TaskState.DEAD:
                        continue
                    counts[state] += 1
        return counts

    def oldest_queued_at(self, labourer_id: str) -> float | None:
        refs = self.next_queued(labourer_id, 1)
        return self.store.get(refs[0].task_id).created_at if refs else None

    def closed(self, labourer_id: str, *, since: float | None = None, until: float | None = None,
               state: TaskState | None = None, limit: int | None = None) -> Iterator[Task]:
        """Closed tasks of a labourer by close time (newest first), full rows."""
        t = self._task
        condition: Condition | None = None
        if since is not None and until is not None:
            condition = t.closed_at.between(since, until)
        elif since is not None:
            condition = t.closed_at >= since
        elif until is not None:
            condition = t.closed_at <= until
        filter_condition = (t.state == state.value) if state else None
        with self.store._errors():
            for row in t.closed_index.query(labourer_id, condition, filter_condition=filter_condition,
                                            scan_index_forward=False, limit=limit):
                yield self.store.get(row.task_id)

    def list_tasks(self, labourer_id: str, state: TaskState | None = None,
                   limit: int = 100) -> list[Task]:
        """Up to ``limit`` tasks of a labourer in one state (or any), full rows."""
        t = self._task
        out: list[Task] = []
        with self.store._errors():
            if state in (None, TaskState.QUEUED):
                out += [self.store.get(r.task_id) for r in t.queue_index.query(labourer_id, limit=limit)]
            if state in (None, TaskState.INVOKED, TaskState.RETRYING):
                rows = t.deadline_index.query(labourer_id, limit=limit)
                out += [self.store.get(r.task_id) for r in rows
                        if r.state != TaskState.DEAD.value and (state is None or r.state == state.value)]
        if state in (None, TaskState.COMPLETED, TaskState.DEAD):
            out += list(self.closed(labourer_id, state=state, limit=limit))
        return out[:limit]

"""Reads of the task indexes, in memory: the sparse DynamoDB indexes as filters on the rows.

A row is in an index when it has that index's key attributes, exactly as in DynamoDB (see
:mod:`sosw_core.adapters.dynamodb.models`): ``queue`` (``queue_pk``, ordered by ``queue_sk``,
see :func:`~sosw_core.domain.task.queue_sort_key`), ``deadline`` (``deadline_pk``, by
``deadline_at``) and ``closed`` (``closed_pk``, by ``closed_at``). A DEAD task waiting for its
alert is in both ``deadline`` and ``closed``. Rows with equal index keys come in ``task_id``
order (DynamoDB leaves their order undefined).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from sosw_core.adapters.memory.items import Row
from sosw_core.adapters.memory.task_store import MemoryTaskStore, to_task
from sosw_core.domain.outcomes import DueRef, QueuedRef
from sosw_core.domain.task import Task, TaskState, runnable_since


def _queue_order(row: Row) -> tuple[str, str]:
    return row["queue_sk"], row["task_id"]


class MemoryTaskQueries:
    def __init__(self, store: MemoryTaskStore):
        self.store = store
        self.tables = store.tables

    def _index(self, pk: str, labourer_id: str) -> list[Row]:
        return self.tables.rows(self.tables.tasks, lambda row: row.get(pk) == labourer_id)

    def _queue(self, labourer_id: str, limit: int | None) -> list[Row]:
        rows = self._index("queue_pk", labourer_id)
        if limit is None:
            return sorted(rows, key=_queue_order)
        return heapq.nsmallest(limit, rows, key=_queue_order)

    def _deadline(self, labourer_id: str) -> list[Row]:
        return sorted(self._index("deadline_pk", labourer_id), key=lambda row: (row["deadline_at"], row["task_id"]))

    def next_queued(self, labourer_id: str, limit: int) -> list[QueuedRef]:
        """The next ``limit`` runnable tasks: due retries first, then FIFO."""
        if limit <= 0:
            return []
        return [QueuedRef(r["task_id"], int(r.get("attempts") or 0), runnable_since(r["queue_sk"]))
                for r in self._queue(labourer_id, limit)]

    def count_running(self, labourer_id: str) -> int:
        """Tasks INVOKED now (rows of the deadline index in state invoked)."""
        return sum(1 for r in self._index("deadline_pk", labourer_id) if r["state"] == TaskState.INVOKED.value)

    def due(self, labourer_id: str, now: float, limit: int) -> list[DueRef]:
        """Deadline index rows due by ``now``: expired leases, elapsed backoffs, pending alerts."""
        rows = [r for r in self._deadline(labourer_id) if r["deadline_at"] <= now][:limit]
        return [DueRef(r["task_id"], TaskState(r["state"]), int(r.get("attempts") or 0), float(r["deadline_at"]))
                for r in rows]

    def queue_depth_page(self, labourer_id: str) -> tuple[int, bool]:
        """``(queued tasks, True)``: there is no 1 MB page here, so the count is always complete."""
        return self.count_queued(labourer_id), True

    def count_queued(self, labourer_id: str) -> int:
        return len(self._index("queue_pk", labourer_id))

    def counts(self, labourer_id: str) -> dict[TaskState, int]:
        """Tasks per state for one labourer (the rows of the three indexes, each task once)."""
        counts = dict.fromkeys(TaskState, 0)
        counts[TaskState.QUEUED] = self.count_queued(labourer_id)
        for row in self._index("deadline_pk", labourer_id):
            if row["state"] != TaskState.DEAD.value:  # a DEAD task awaiting its alert is also closed
                counts[TaskState(row["state"])] += 1
        for row in self._index("closed_pk", labourer_id):
            counts[TaskState(row["state"])] += 1
        return counts

    def oldest_queued_at(self, labourer_id: str) -> float | None:
        refs = self.next_queued(labourer_id, 1)
        return self.store.get(refs[0].task_id).created_at if refs else None

    def closed(self, labourer_id: str, *, since: float | None = None, until: float | None = None,
               state: TaskState | None = None, limit: int | None = None) -> Iterator[Task]:
        """Closed tasks of a labourer by close time (newest first), full rows."""
        rows = [r for r in self._index("closed_pk", labourer_id)
                if (since is None or r["closed_at"] >= since) and (until is None or r["closed_at"] <= until)
                and (state is None or r["state"] == state.value)]
        rows.sort(key=lambda r: (r["closed_at"], r["task_id"]), reverse=True)
        for row in rows if limit is None else rows[:limit]:
            yield to_task(row)

    def list_tasks(self, labourer_id: str, state: TaskState | None = None,
                   limit: int = 100) -> list[Task]:
        """Up to ``limit`` tasks of a labourer in one state (or any), full rows.

        Read as the DynamoDB store reads them: ``limit`` rows of the queue, ``limit`` rows of
        the deadline index (then filtered), then the closed tasks.
        """
        out: list[Task] = []
        if state in (None, TaskState.QUEUED):
            out += [to_task(r) for r in self._queue(labourer_id, limit)]
        if state in (None, TaskState.INVOKED, TaskState.RETRYING):
            out += [to_task(r) for r in self._deadline(labourer_id)[:limit]
                    if r["state"] != TaskState.DEAD.value and (state is None or r["state"] == state.value)]
        if state in (None, TaskState.COMPLETED, TaskState.DEAD):
            out += list(self.closed(labourer_id, state=state, limit=limit))
        return out[:limit]

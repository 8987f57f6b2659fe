"""Batched, idempotent task creation in memory (the DynamoDB ``BatchCreator``'s methods).

The Scheduler writes its task rows as low-level DynamoDB items (``ItemFactory``); they are
decoded here (:func:`~sosw_core.adapters.memory.items.decode_item`) and stored as they are. Like
BatchWriteItem, :meth:`MemoryBatchCreator.write_rows` puts blindly (no condition), so
:meth:`~MemoryBatchCreator.create_many` first reads which ids exist and writes only the missing
ones; the same single-writer rule as on DynamoDB applies (the Scheduler's job lease).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, Protocol, TypeVar

from sosw_core.adapters.memory.items import Item, check_item_size, decode_item, encode_item
from sosw_core.adapters.memory.task_store import MemoryTaskStore, new_task_row
from sosw_core.domain.outcomes import CreateResult
from sosw_core.domain.task import NewTask

GET_BATCH = 100  # as many ids as the DynamoDB store reads per BatchGetItem

_T = TypeVar("_T")


class _Serializable(Protocol):
    def serialize(self) -> Mapping[str, Any]: ...


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class MemoryBatchCreator:
    def __init__(self, store: MemoryTaskStore):
        self.store = store
        self.tables = store.tables

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        with self.tables.lock:
            return {task_id for task_id in task_ids if task_id in self.tables.tasks}

    def row_factory(self, now: float) -> Callable[[str, str, str | None, str], Item]:
        """Builds the rows of tasks created at ``now`` for :meth:`write_rows`, as low-level items
        like the DynamoDB store's (``(task_id, labourer_id, job_id, payload_json)`` → item)."""
        def row(task_id: str, labourer_id: str, job_id: str | None, payload_json: str) -> Item:
            new = NewTask(task_id, labourer_id, json.loads(payload_json), job_id=job_id)
            return encode_item(new_task_row(new, now))
        return row

    def write_rows(self, rows: Sequence[Item | _Serializable]) -> None:
        """Put each row as it is (BatchWriteItem: no condition; an existing row is replaced).

        ``rows`` are low-level items (``ItemFactory``, :meth:`MemoryTaskStore.new_row`) or
        objects with ``serialize()`` giving one (a pynamodb row).
        """
        decoded = [decode_item(row if isinstance(row, dict) else row.serialize()) for row in rows]
        for row in decoded:
            check_item_size(row["task_id"], row)  # DynamoDB refuses the whole batch: check first
        with self.tables.lock:
            for row in decoded:
                self.tables.tasks[row["task_id"]] = row

    def create_many(self, tasks: Iterable[NewTask], now: float, *, check_existing: bool = True) -> CreateResult:
        """Create tasks in batches; ids that exist already are skipped (idempotent).

        ``check_existing=False`` is only for a writer that knows none of the ids can exist.
        """
        created = skipped = 0
        for batch in _chunks(tasks, GET_BATCH):
            unique = {t.task_id: t for t in batch}
            skipped += len(batch) - len(unique)
            exists = self.existing_ids(list(unique)) if check_existing else set()
            rows = [new_task_row(t, now) for tid, t in unique.items() if tid not in exists]
            for row in rows:
                check_item_size(row["task_id"], row)
            with self.tables.lock:
                for row in rows:
                    self.tables.tasks[row["task_id"]] = row
            created += len(rows)
            skipped += len(exists)
        return CreateResult(created=created, skipped=skipped)

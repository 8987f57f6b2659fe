"""Batched, idempotent task creation: BatchGetItem to skip existing ids, BatchWriteItem in 25s.

BatchWriteItem cannot carry a condition, so a blind put would reset an existing task (claimed,
completed) to QUEUED and run it again. We therefore read which ids exist (one consistent
BatchGetItem per 100 ids) and write only the missing ones. The window between the read and the
write is safe as long as one writer creates a given id at a time: the Scheduler guarantees that
with its job lease (see :mod:`sosw_core.services.ingest`); single tasks use the conditional
:meth:`TaskStore.create` instead.

Rows are built as low-level DynamoDB items by :func:`new_item` (the same item that
``TaskStore.new_row(task, now).serialize()`` gives, a test holds them equal): building a pynamodb
model per task and serialising it costs ~150 µs of Python, ten times the plain dict.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from pynamodb.connection import TableConnection

from sosw_core.adapters.dynamodb.models import TaskModel
from sosw_core.adapters.dynamodb.task_store import TaskStore
from sosw_core.domain.outcomes import CreateResult
from sosw_core.domain.task import EventKind, NewTask, TaskEvent, TaskState, queue_sort_key
from sosw_core.errors import BatchIncomplete

logger = logging.getLogger(__name__)

WRITE_BATCH = 25  # BatchWriteItem's limit
GET_BATCH = 100  # BatchGetItem's limit


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for UnprocessedItems/UnprocessedKeys."""

    attempts: int = 10
    base_seconds: float = 0.05
    cap_seconds: float = 5.0

    def delay(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** retry))


_T = TypeVar("_T")


def chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


Item = dict[str, dict[str, Any]]  # a low-level DynamoDB item: {name: {type: value}}


def _number(value: int | float) -> dict[str, str]:
    return {"N": json.dumps(value)}  # as pynamodb's NumberAttribute writes it


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"no DynamoDB type for {type(value).__name__} in a task event")
    return _number(value)


def _created_events(now: float) -> dict[str, Any]:
    event = TaskEvent(now, EventKind.CREATED, 0).to_item()
    return {"L": [{"M": {key: _value(value) for key, value in event.items()}}]}


def new_item(task: NewTask, now: float, *, payload_json: str | None = None) -> Item:
    """The item a fresh task starts as (QUEUED, in the queue index), ready for BatchWriteItem.

    Equal to ``TaskStore.new_row(task, now).serialize()`` but for the random token.
    ``payload_json`` saves encoding the payload again when the caller has it already.
    """
    return new_item_of(task.task_id, task.labourer_id, task.job_id,
                       task.payload_json if payload_json is None else payload_json, now)


def new_item_of(task_id: str, labourer_id: str, job_id: str | None, payload_json: str, now: float,
                *, _events: dict[str, Any] | None = None) -> Item:
    """:func:`new_item` from fields already validated (a :class:`NewTask` checks them)."""
    at = _number(now)
    item: Item = {
        "attempts": {"N": "0"}, "created_at": at, "events": _events or _created_events(now),
        "labourer_id": {"S": labourer_id}, "payload": {"S": payload_json}, "queue_pk": {"S": labourer_id},
        "queue_sk": {"S": queue_sort_key(created_at=now, task_id=task_id)},
        "state": {"S": TaskState.QUEUED.value}, "task_id": {"S": task_id},
        "token": {"S": secrets.token_urlsafe(24)}, "updated_at": at,
    }
    if job_id is not None:
        item["job_id"] = {"S": job_id}
    return item


class ItemFactory:
    """:func:`new_item_of` for many tasks created at one ``now`` (the shared parts built once)."""

    def __init__(self, now: float):
        self.now = now
        self._events = _created_events(now)

    def __call__(self, task_id: str, labourer_id: str, job_id: str | None, payload_json: str) -> Item:
        return new_item_of(task_id, labourer_id, job_id, payload_json, self.now, _events=self._events)


class BatchCreator:
    def __init__(self, store: TaskStore, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.store = store
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._table = store.models.task.Meta.table_name

    @property
    def _conn(self) -> TableConnection:
        return self.store.models.task._get_connection()

    def row_factory(self, now: float) -> ItemFactory:
        """Builds the items of tasks created at ``now``, for :meth:`write_rows` (the Scheduler's
        way to make rows without knowing the store: :class:`~sosw_core.domain.ports.TaskRowWriter`)."""
        return ItemFactory(now)

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in chunks(task_ids, GET_BATCH):
            keys = [{"task_id": {"S": task_id}} for task_id in batch]
            for retry in range(self.retry.attempts):
                with self.store._errors():
                    # pynamodb 6 annotates ``keys`` as strings; it takes key maps like these
                    data = self._conn.batch_get_item(keys, consistent_read=True,  # type: ignore[arg-type]
                                                     attributes_to_get=["task_id"])
                found.update(item["task_id"]["S"] for item in data.get("Responses", {}).get(self._table, []))
                unprocessed = data.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if not unprocessed:
                    break
                keys = unprocessed
                self.sleep(self.retry.delay(retry, self.rng))
            else:
                raise BatchIncomplete(f"BatchGetItem left {len(keys)} keys unprocessed after "
                                      f"{self.retry.attempts} tries")
        return found

    def write_rows(self, rows: Sequence[Item | TaskModel]) -> None:
        """BatchWriteItem in 25s; UnprocessedItems retried with backoff until none are left.

        ``rows`` are low-level items (:func:`new_item`) or pynamodb rows (``TaskStore.new_row``).
        """
        for batch in chunks(rows, WRITE_BATCH):
            items = [row if isinstance(row, dict) else row.serialize() for row in batch]
            for retry in range(self.retry.attempts):
                with self.store._errors():
                    data = self._conn.batch_write_item(put_items=items)
                unprocessed = (data or {}).get("UnprocessedItems", {}).get(self._table, [])
                if not unprocessed:
                    break
                items = [req["PutRequest"]["Item"] for req in unprocessed]
                logger.info("retrying %d unprocessed items", len(items))
                self.sleep(self.retry.delay(retry, self.rng))
            else:
                raise BatchIncomplete(f"BatchWriteItem left {len(items)} items unprocessed after "
                                      f"{self.retry.attempts} tries")

    def create_many(self, tasks: Iterable[NewTask], now: float, *, check_existing: bool = True) -> CreateResult:
        """Create tasks in batches; ids that exist already are skipped (idempotent).

        ``check_existing=False`` is only for a writer that knows none of the ids can exist
        (e.g. the first pass over a brand-new job): it saves the BatchGetItem.
        """
        created = skipped = 0
        for batch in chunks(tasks, GET_BATCH):
            unique = {t.task_id: t for t in batch}
            skipped += len(batch) - len(unique)
            exists = self.existing_ids(list(unique)) if check_existing else set()
            rows = [new_item(t, now) for tid, t in unique.items() if tid not in exists]
            self.write_rows(rows)
            created += len(rows)
            skipped += len(exists)
        return CreateResult(created=created, skipped=skipped)

"""Batched, idempotent task creation: BatchGetItem to skip existing ids, BatchWriteItem in 25s.

BatchWriteItem cannot carry a condition, so a blind put would reset an existing task (claimed,
completed) to QUEUED and run it again. We therefore read which ids exist (one consistent
BatchGetItem per 100 ids) and write only the missing ones. The window between the read and the
write is safe as long as one writer creates a given id at a time: the Scheduler guarantees that
with its job lease (see :mod:`sosw_core.scheduler.ingest`); single tasks use the conditional
:meth:`TaskStore.create` instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from sosw_core.errors import SoswError
from sosw_core.store.task_store import TaskStore
from sosw_core.task import NewTask

logger = logging.getLogger(__name__)

WRITE_BATCH = 25  # BatchWriteItem's limit
GET_BATCH = 100  # BatchGetItem's limit


class BatchIncomplete(SoswError):
    """DynamoDB kept returning unprocessed items after every retry; nothing was dropped silently."""


@dataclass(frozen=True)
class CreateResult:
    created: int
    skipped: int  # already existed: re-creating is a no-op


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for UnprocessedItems/UnprocessedKeys."""

    attempts: int = 10
    base_seconds: float = 0.05
    cap_seconds: float = 5.0

    def delay(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** retry))


def chunks(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class BatchCreator:
    def __init__(self, store: TaskStore, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.store = store
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._table = store.models.task.Meta.table_name

    @property
    def _conn(self):
        return self.store.models.task._get_connection()

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in chunks(task_ids, GET_BATCH):
            keys = [{"task_id": {"S": task_id}} for task_id in batch]
            for retry in range(self.retry.attempts):
                with self.store._errors():
                    data = self._conn.batch_get_item(keys, consistent_read=True,
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

    def write_rows(self, rows: Sequence) -> None:
        """BatchWriteItem in 25s; UnprocessedItems retried with backoff until none are left."""
        for batch in chunks(rows, WRITE_BATCH):
            items = [row.serialize() for row in batch]
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
            rows = [self.store.new_row(t, now) for tid, t in unique.items() if tid not in exists]
            self.write_rows(rows)
            created += len(rows)
            skipped += len(exists)
        return CreateResult(created=created, skipped=skipped)

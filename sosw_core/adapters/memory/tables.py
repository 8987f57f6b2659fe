"""The memory store's two tables, and its one write primitive: a guarded update under one lock.

DynamoDB evaluates a condition and applies the update of one item atomically; here every
guarded write takes :attr:`MemoryTables.lock`, evaluates its guard on the row as it is and
stores the changed row before the lock is released. So of N threads racing to claim one task,
exactly one finds ``state = queued`` true, as of N orchestrators on DynamoDB.

Rows are copy-on-write: a write stores a new ``dict`` (nested lists and maps are replaced, never
changed in place), so a row read under the lock stays a consistent snapshot after it.

What the memory store does not do (documented differences from DynamoDB):

* **TTL.** DynamoDB deletes a closed task some time after its ``expires_at`` (retention), in
  the background; until then it is visible to every read, as it is here. Nothing here deletes
  it on its own: :meth:`MemoryTables.purge_expired` is the TTL sweeper, called with a time.
* **Index lag and page limits.** Index reads see every write at once (DynamoDB's indexes are
  eventually consistent), and a count never stops at DynamoDB's 1 MB page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sosw_core.adapters.memory.items import Row, check_item_size

Guard = Callable[[Row], bool]
Change = Callable[[Row], None]


class MemoryTables:
    """The tasks table and the jobs table (job records, body parts, dispatch leases) in memory."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tasks: dict[str, Row] = {}  # by task_id
        self.jobs: dict[str, Row] = {}  # by job_id (also "#dispatch#<labourer>" and body part keys)

    def write(self, table: dict[str, Row], key_name: str, key: str, guard: Guard,
              change: Change) -> Row | None:
        """One conditional UpdateItem: the new row, or None (nothing written) if ``guard`` failed.

        Like DynamoDB, the guard of a missing item sees an empty one (``attribute_not_exists``
        holds, every comparison fails), and an update that passes creates the item.
        """
        _, rows = self.transact(table, key_name, [(key, guard, change)])
        return rows[0] if rows else None

    def transact(self, table: dict[str, Row], key_name: str,
                 writes: list[tuple[str, Guard, Change]]) -> tuple[list[bool], list[Row] | None]:
        """Conditional updates of several rows, all or none (TransactWriteItems).

        Returns which guards held and, if all did, the new rows (else None: nothing written).
        """
        if len({key for key, _, _ in writes}) != len(writes):
            # DynamoDB refuses a transaction naming one item twice (ValidationException)
            raise ValueError("a transaction cannot change one item twice")
        with self.lock:
            current = [table.get(key) for key, _, _ in writes]
            passed = [guard(row or {}) for row, (_, guard, _) in zip(current, writes, strict=True)]
            if not all(passed):
                return passed, None
            rows = []
            for row, (key, _, change) in zip(current, writes, strict=True):
                new = dict(row) if row else {key_name: key}
                change(new)
                check_item_size(key, new)
                rows.append(new)
            for (key, _, _), new in zip(writes, rows, strict=True):
                table[key] = new
            return passed, rows

    def put(self, table: dict[str, Row], key: str, row: Row, guard: Guard | None = None) -> bool:
        """One PutItem (under ``guard``, if given): the whole row replaced; False if the guard failed."""
        check_item_size(key, row)
        with self.lock:
            if guard is not None and not guard(table.get(key) or {}):
                return False
            table[key] = row
            return True

    def rows(self, table: dict[str, Row], where: Callable[[Row], bool]) -> list[Row]:
        """A snapshot of the rows for which ``where`` holds (read under the lock)."""
        with self.lock:
            return [row for row in table.values() if where(row)]

    def purge_expired(self, now: float) -> int:
        """Delete the tasks whose retention ended by ``now`` (DynamoDB's TTL sweep); how many."""
        with self.lock:
            gone = [key for key, row in self.tasks.items()
                    if row.get("expires_at") is not None and row["expires_at"] <= now]
            for key in gone:
                del self.tasks[key]
        return len(gone)

    def task_count(self) -> int:
        """Rows in the tasks table (what a Scan would count)."""
        with self.lock:
            return len(self.tasks)


def has(row: Row, name: str) -> bool:
    """``attribute_exists(name)``."""
    return row.get(name) is not None


def remove(row: Row, *names: str) -> None:
    """``REMOVE`` of attributes (absent ones are ignored, as DynamoDB does)."""
    for name in names:
        row.pop(name, None)

"""Per-labourer dispatch leases in memory: one dispatcher of a labourer at a time.

Why the lease exists, with its timeline, is in :mod:`sosw_core.adapters.dynamodb.dispatch_lease`.
The lease rows live in the jobs table under ``#dispatch#<labourer id>``, as on DynamoDB.
"""

from __future__ import annotations

from sosw_core.adapters.memory.items import Row
from sosw_core.adapters.memory.tables import Change, Guard, MemoryTables, has, remove

KEY_PREFIX = "#dispatch#"


def lease_key(labourer_id: str) -> str:
    return f"{KEY_PREFIX}{labourer_id}"


class MemoryDispatchLeases:
    """Acquire and release the dispatch lease of a labourer; each one guarded write."""

    def __init__(self, tables: MemoryTables):
        self.tables = tables

    def _write(self, labourer_id: str, guard: Guard, change: Change) -> bool:
        return self.tables.write(self.tables.jobs, "job_id", lease_key(labourer_id), guard, change) is not None

    def acquire(self, labourer_id: str, owner: str, now: float, seconds: float) -> bool:
        """Hold the labourer's dispatch lease until ``now + seconds``; False if someone else does.

        Guard ``attribute_not_exists(owner) OR lease_until <= now``: free, or abandoned by a
        dispatcher that died; of two racing for it exactly one wins. The first acquire creates it.
        """
        def guard(row: Row) -> bool:
            return not has(row, "owner") or (has(row, "lease_until") and row["lease_until"] <= now)

        def change(row: Row) -> None:
            row.update(owner=owner, lease_until=now + seconds, dispatches=row.get("dispatches", 0) + 1)

        return self._write(labourer_id, guard, change)

    def release(self, labourer_id: str, owner: str) -> bool:
        """Give the lease back; False if it was no longer ours.

        Guard ``owner = <ours>``: a dispatcher that outlived its lease must not release the
        lease a newer dispatcher holds.
        """
        return self._write(labourer_id, lambda row: row.get("owner") == owner,
                           lambda row: remove(row, "owner", "lease_until"))

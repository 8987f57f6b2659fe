"""The Scheduler's job records in memory: the DynamoDB job store's guarded writes and reads.

The record is the ingestion's lease and cursor; the state machine and the timelines of a
zombie being fenced and of a continuation are in :mod:`sosw_core.adapters.dynamodb.job_store`.
Each method below is one guarded write with the same condition as its DynamoDB twin.
"""

from __future__ import annotations

import json

from sosw_core.adapters.memory.items import Row, check_item_size
from sosw_core.adapters.memory.tables import Change, Guard, MemoryTables, has, remove
from sosw_core.domain.job_record import JobRecord, JobState

MAX_ERROR_TEXT = 2000


def _to_record(row: Row, *, with_job: bool = True) -> JobRecord:
    job = row.get("job")
    return JobRecord(
        job_id=row["job_id"], labourer_id=row["labourer_id"], state=JobState(row["state"]),
        cursor=int(row.get("cursor") or 0), total=None if row.get("total") is None else int(row["total"]),
        owner=row.get("owner"), lease_until=None if row.get("lease_until") is None else float(row["lease_until"]),
        created_at=float(row["created_at"]), updated_at=float(row["updated_at"]),
        job=json.loads(job) if with_job and job is not None else None,  # stored as JSON text, as on DynamoDB
        as_of=row.get("as_of"), chunkable_attrs=tuple(row.get("chunkable_attrs") or ()), error=row.get("error"))


def _ingesting(row: Row) -> bool:
    return row.get("state") == JobState.INGESTING.value


def _owned(owner: str) -> Guard:
    """``owner = me AND state = ingesting``."""
    return lambda row: row.get("owner") == owner and _ingesting(row)


class MemoryJobStore:
    """Guarded writes and reads of job records."""

    def __init__(self, tables: MemoryTables):
        self.tables = tables

    def _write(self, job_id: str, guard: Guard, change: Change) -> JobRecord | None:
        row = self.tables.write(self.tables.jobs, "job_id", job_id, guard, change)
        return _to_record(row) if row is not None else None

    # -- writes --------------------------------------------------------------------------
    def start(self, job_id: str, labourer_id: str, job_json: str, owner: str, now: float,
              lease_seconds: float, *, total: int | None = None, as_of: str | None = None,
              chunkable_attrs: tuple[str, ...] = ()) -> JobRecord | None:
        """Create the record (INGESTING, cursor 0, leased to ``owner``); None if it exists.

        Guard ``attribute_not_exists(job_id)``: of two deliveries of one job exactly one
        creates the record and writes tasks.
        """
        row: Row = {"job_id": job_id, "labourer_id": labourer_id, "state": JobState.INGESTING.value,
                    "job": json.dumps(json.loads(job_json)), "cursor": 0, "owner": owner,
                    "lease_until": now + lease_seconds, "created_at": now, "updated_at": now,
                    "chunkable_attrs": list(chunkable_attrs)}
        if total is not None:
            row["total"] = total
        if as_of is not None:
            row["as_of"] = as_of
        check_item_size(job_id, row)
        if not self.tables.put(self.tables.jobs, job_id, row, guard=lambda old: not has(old, "job_id")):
            return None
        return _to_record(row)

    def take_over(self, job_id: str, owner: str, now: float, lease_seconds: float) -> JobRecord | None:
        """Lease an INGESTING job to ``owner``; None if someone else holds a live lease.

        Guard ``state = ingesting AND (attribute_not_exists(owner) OR lease_until < now)``: a
        continuation and a duplicate delivery racing for a handed-over job cannot both win.
        """
        def guard(row: Row) -> bool:
            return _ingesting(row) and (not has(row, "owner")
                                        or (has(row, "lease_until") and row["lease_until"] < now))

        return self._write(job_id, guard,
                           lambda row: row.update(owner=owner, lease_until=now + lease_seconds, updated_at=now))

    def advance(self, job_id: str, owner: str, old_cursor: int, new_cursor: int, now: float,
                lease_seconds: float) -> bool:
        """Move the cursor after a page was written, renewing the lease; False if fenced off.

        Guard ``owner = me AND cursor = old_cursor AND state = ingesting``: a zombie whose
        lease was taken over must stop writing.
        """
        return self._write(job_id, lambda row: _owned(owner)(row) and row.get("cursor") == old_cursor,
                           lambda row: row.update(cursor=new_cursor, lease_until=now + lease_seconds,
                                                  updated_at=now)) is not None

    def hand_over(self, job_id: str, owner: str, cursor: int, now: float, *,
                  error: str | None = None) -> bool:
        """Give the lease up (owner → none) so the next invocation resumes at once.

        Guard ``owner = me AND cursor = cursor AND state = ingesting``: a fenced-off zombie
        cannot release the lease of the invocation that took over from it.
        """
        def change(row: Row) -> None:
            remove(row, "owner", "lease_until")
            row["updated_at"] = now
            if error is not None:
                row["error"] = error[:MAX_ERROR_TEXT]

        return self._write(job_id, lambda row: _owned(owner)(row) and row.get("cursor") == cursor,
                           change) is not None

    def finish(self, job_id: str, owner: str, total: int, now: float) -> bool:
        """INGESTING → DONE once all ``total`` tasks are written.

        Guard ``owner = me AND cursor = total AND state = ingesting``: never DONE with tasks missing.
        """
        def change(row: Row) -> None:
            row.update(state=JobState.DONE.value, total=total, updated_at=now)
            remove(row, "owner", "lease_until", "error")

        return self._write(job_id, lambda row: _owned(owner)(row) and row.get("cursor") == total,
                           change) is not None

    def fail(self, job_id: str, owner: str, error: str, now: float) -> bool:
        """INGESTING → FAILED, for an error that a retry would meet again.

        Guard ``owner = me AND state = ingesting``: a zombie cannot fail a job another ingests.
        """
        def change(row: Row) -> None:
            row.update(state=JobState.FAILED.value, error=error[:MAX_ERROR_TEXT], updated_at=now)
            remove(row, "owner", "lease_until")

        return self._write(job_id, _owned(owner), change) is not None

    # -- reads ---------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord | None:
        with self.tables.lock:
            row = self.tables.jobs.get(job_id)
        return _to_record(row) if row is not None and has(row, "state") else None

    def list_jobs(self, *, state: JobState | None = None, labourer_id: str | None = None,
                  limit: int | None = 100) -> list[JobRecord]:
        """Jobs for status screens, newest first, without their bodies."""
        rows = self.tables.rows(self.tables.jobs, lambda row: has(row, "state")
                                and (state is None or row["state"] == state.value)
                                and (labourer_id is None or row.get("labourer_id") == labourer_id))
        records = sorted((_to_record(row, with_job=False) for row in rows), key=lambda r: r.created_at,
                         reverse=True)
        return records if limit is None else records[:limit]

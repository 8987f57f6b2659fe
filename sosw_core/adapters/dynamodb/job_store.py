"""The Scheduler's job record: one row per job, and every change of it one guarded write.

The record is the ingestion's lease and its cursor. An ingestion writes a job's tasks in plan
order, one page at a time, and after each page moves ``cursor`` (tasks written so far) forward.
Only the holder of the lease (``owner``, an id per invocation) may move it, and only from the
cursor it saw last, so at most one invocation writes a job's tasks at any time::

    (none) ──start──► INGESTING ──finish──► DONE
                        │   ▲
                        │   └─ take_over: the lease expired, or nobody owns it (hand_over)
                        └──fail──► FAILED

Timeline of a zombie being fenced (A stalled long enough for its lease to run out)::

    A: start ─ page 0 ─ advance(0→500) ✔ ─ page 1 …(stalled)………………………… advance(500→1000) ✘ stops
    B:                              lease expired: take_over ✔ ─ page 1 ─ advance(500→1000) ✔ ─ …

Timeline of a continuation (the Lambda runs out of time)::

    A: … advance(→7000) ✔ ─ hand_over(owner → none) ✔ ─ invoke {"continue_job": id} ─ return
    C:                                                    take_over ✔ (no owner) ─ page 7000 …

Job records carry no TTL: a record must outlive every task of its job, because it is what
makes a re-sent job a no-op (an expired record would let the job be ingested again).
"""

from __future__ import annotations

import json
import logging
from contextlib import AbstractContextManager

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from sosw_core.adapters.dynamodb.errors import dynamodb_errors, guarded_update, is_condition_failure
from sosw_core.adapters.dynamodb.models import JobModel, Models
from sosw_core.domain.job_record import JobRecord, JobState

logger = logging.getLogger(__name__)

MAX_ERROR_TEXT = 2000


def _to_record(row: JobModel) -> JobRecord:
    return JobRecord(
        job_id=row.job_id, labourer_id=row.labourer_id, state=JobState(row.state),
        cursor=int(row.cursor or 0), total=None if row.total is None else int(row.total),
        owner=row.owner, lease_until=None if row.lease_until is None else float(row.lease_until),
        created_at=float(row.created_at), updated_at=float(row.updated_at), job=row.job,
        as_of=row.as_of, chunkable_attrs=tuple(row.chunkable_attrs or ()), error=row.error)


class JobStore:
    """Guarded writes and reads of job records."""

    def __init__(self, models: Models, *, endpoint: str | None = None):
        self._job = models.job
        self.endpoint = endpoint

    def _errors(self) -> AbstractContextManager[None]:
        return dynamodb_errors(self._job.Meta.table_name, self.endpoint)

    def _update(self, job_id: str, actions: list[Action], condition: Condition) -> JobRecord | None:
        """One UpdateItem returning the new row; None when the condition failed."""
        row = self._job(job_id)
        with self._errors():
            written = guarded_update(row, actions, condition)
        return _to_record(row) if written else None

    # -- writes --------------------------------------------------------------------------
    def start(self, job_id: str, labourer_id: str, job_json: str, owner: str, now: float,
              lease_seconds: float, *, total: int | None = None, as_of: str | None = None,
              chunkable_attrs: tuple[str, ...] = ()) -> JobRecord | None:
        """Create the record (INGESTING, cursor 0, leased to ``owner``); None if it exists.

        Guard ``attribute_not_exists(job_id)``: of two deliveries of one job (Lambda's
        at-least-once delivery, or a person re-sending it) exactly one creates the record and
        writes tasks; the other learns that the job exists and reads it with :meth:`get`.
        """
        j = self._job
        row = j(job_id, labourer_id=labourer_id, state=JobState.INGESTING.value,
                job=json.loads(job_json), cursor=0, total=total, owner=owner,
                lease_until=now + lease_seconds, created_at=now, updated_at=now, as_of=as_of,
                chunkable_attrs=list(chunkable_attrs))
        with self._errors():
            try:
                row.save(condition=j.job_id.does_not_exist())
            except PutError as exc:
                if is_condition_failure(exc):
                    return None
                raise
        return _to_record(row)

    def take_over(self, job_id: str, owner: str, now: float, lease_seconds: float) -> JobRecord | None:
        """Lease an INGESTING job to ``owner``; None if someone else holds a live lease.

        Guard ``state = ingesting AND (attribute_not_exists(owner) OR lease_until < now)``:
        a job with no owner was handed over (a continuation is due) or released after an
        error; a job whose lease ran out was left by an invocation that died. Two invocations
        racing for it (a continuation and a duplicate delivery) cannot both win.
        """
        j = self._job
        return self._update(job_id, [j.owner.set(owner), j.lease_until.set(now + lease_seconds),
                                     j.updated_at.set(now)],
                            (j.state == JobState.INGESTING.value)
                            & (j.owner.does_not_exist() | (j.lease_until < now)))

    def advance(self, job_id: str, owner: str, old_cursor: int, new_cursor: int, now: float,
                lease_seconds: float) -> bool:
        """Move the cursor after a page was written, renewing the lease; False if fenced off.

        Guard ``owner = me AND cursor = old_cursor AND state = ingesting``: an invocation
        whose lease was taken over (a zombie) finds the condition false and must stop writing;
        its page is re-checked by the new owner, which resumes from the same cursor.
        """
        j = self._job
        return self._update(job_id, [j.cursor.set(new_cursor), j.lease_until.set(now + lease_seconds),
                                     j.updated_at.set(now)],
                            (j.owner == owner) & (j.cursor == old_cursor)
                            & (j.state == JobState.INGESTING.value)) is not None

    def hand_over(self, job_id: str, owner: str, cursor: int, now: float, *,
                  error: str | None = None) -> bool:
        """Give the lease up (owner → none) so the next invocation resumes at once.

        Used before invoking a continuation, and after an error (with ``error`` recorded) so
        that Lambda's own retry of the event can resume instead of waiting for the lease.
        Guard ``owner = me AND cursor = cursor AND state = ingesting``: a fenced-off zombie
        cannot release the lease of the invocation that took over from it.
        """
        j = self._job
        actions: list[Action] = [j.owner.remove(), j.lease_until.remove(), j.updated_at.set(now)]
        if error is not None:
            actions.append(j.error.set(error[:MAX_ERROR_TEXT]))
        return self._update(job_id, actions, (j.owner == owner) & (j.cursor == cursor)
                            & (j.state == JobState.INGESTING.value)) is not None

    def finish(self, job_id: str, owner: str, total: int, now: float) -> bool:
        """INGESTING → DONE once all ``total`` tasks are written.

        Guard ``owner = me AND cursor = total AND state = ingesting``: only the lease holder,
        and only after its last page was recorded, so a job is never DONE with tasks missing.
        """
        j = self._job
        return self._update(job_id, [j.state.set(JobState.DONE.value), j.total.set(total),
                                     j.owner.remove(), j.lease_until.remove(), j.error.remove(),
                                     j.updated_at.set(now)],
                            (j.owner == owner) & (j.cursor == total)
                            & (j.state == JobState.INGESTING.value)) is not None

    def fail(self, job_id: str, owner: str, error: str, now: float) -> bool:
        """INGESTING → FAILED, for an error that a retry would meet again.

        Guard ``owner = me AND state = ingesting``: a zombie cannot fail a job that another
        invocation is ingesting.
        """
        j = self._job
        return self._update(job_id, [j.state.set(JobState.FAILED.value), j.error.set(error[:MAX_ERROR_TEXT]),
                                     j.owner.remove(), j.lease_until.remove(), j.updated_at.set(now)],
                            (j.owner == owner) & (j.state == JobState.INGESTING.value)) is not None

    # -- reads ---------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord | None:
        with self._errors():
            try:
                return _to_record(self._job.get(job_id, consistent_read=True))
            except self._job.DoesNotExist:
                return None

    def list_jobs(self, *, state: JobState | None = None, labourer_id: str | None = None,
                  limit: int | None = 100) -> list[JobRecord]:
        """Jobs for status screens, newest first, without their bodies (a Scan: not for hot paths)."""
        j = self._job
        # job records only: the table also holds body parts and dispatch leases (no ``state``)
        condition = j.state.exists()
        if state is not None:
            condition &= j.state == state.value
        if labourer_id is not None:
            condition &= j.labourer_id == labourer_id
        wanted = [name for name in j.get_attributes() if name != "job"]
        with self._errors():
            records = [_to_record(row) for row in j.scan(condition, attributes_to_get=wanted)]
        records.sort(key=lambda r: r.created_at, reverse=True)
        return records if limit is None else records[:limit]

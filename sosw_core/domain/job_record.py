"""The Scheduler's record of one job, as every store backend returns it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    INGESTING = "ingesting"  # tasks are being written; ``cursor`` of ``total`` so far
    DONE = "done"  # every task was written
    FAILED = "failed"  # stopped for good; ``error`` says why


class IngestStatus(StrEnum):
    """What one Scheduler invocation did with a job: the ``state`` of its result.

    The first three end an invocation that held the job's lease; the others answer a job that
    was already there (the result says ``duplicate``), under the job record's own state.
    """

    DONE = "done"  # every task is written (by this invocation, or before: a duplicate)
    CONTINUED = "continued"  # out of time: handed over, a continuation was invoked
    LEASE_LOST = "lease_lost"  # another invocation took the job over: this one stopped
    INGESTING = "ingesting"  # a duplicate delivery while another invocation holds the lease
    FAILED = "failed"  # a duplicate of a job that stopped for good (``error`` says why)

    @classmethod
    def of(cls, state: JobState) -> IngestStatus:
        """A job record's state, as the status of a duplicate."""
        return cls(state.value)


@dataclass(frozen=True)
class JobRecord:
    """A read-only snapshot of one job row (``job`` is None when a listing left it out)."""

    job_id: str
    labourer_id: str
    state: JobState
    cursor: int
    total: int | None
    owner: str | None
    lease_until: float | None
    created_at: float
    updated_at: float
    job: dict[str, Any] | None = None
    as_of: str | None = None
    chunkable_attrs: tuple[str, ...] = ()
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """The fields a status screen shows (JSON-ready, without the job body)."""
        return {"job_id": self.job_id, "labourer_id": self.labourer_id, "state": self.state.value,
                "cursor": self.cursor, "total": self.total, "owner": self.owner,
                "lease_until": self.lease_until, "created_at": self.created_at,
                "updated_at": self.updated_at, "error": self.error}

"""Tasks as the domain sees them: states, the read-only view of a task, and the pure rules.

A task moves through these states (every arrow is one guarded DynamoDB write)::

               create                claim                complete
    (none) ──────────► QUEUED ────────────► INVOKED ─────────────────► COMPLETED
                        ▲  ▲    release      │  │ ▲
                        │  └─────────────────┘  │ │ heartbeat (lease extended)
              promote   │          fail/expire  │ │
    (backoff elapsed)   │   ┌───────────────────┘ │
                        │   ▼                     │ (attempts left)
                      RETRYING ◄──────────────────┘
                            fail/expire (no attempts left)
                INVOKED ─────────────────────────────────► DEAD ──redrive──► QUEUED

A late completion (from an attempt whose lease ran out) is accepted from QUEUED, INVOKED or
RETRYING: the work finished, so the task is completed and never runs again.

This module imports no AWS library.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sosw_core.config.model import Backoff
from sosw_core.domain.limits import MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES  # re-exported
from sosw_core.domain.limits import MAX_REPORT_BYTES as MAX_REPORT_BYTES  # re-exported
from sosw_core.errors import InvalidTask

TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class TaskState(StrEnum):
    QUEUED = "queued"  # runnable: in the queue index
    INVOKED = "invoked"  # a worker holds it until its lease (deadline) runs out
    RETRYING = "retrying"  # failed or expired; queued again when its backoff has elapsed
    COMPLETED = "completed"  # final
    DEAD = "dead"  # final until redriven: used up its attempts


class EventKind(StrEnum):
    CREATED = "created"
    CLAIMED = "claimed"
    RELEASED = "released"  # the invoke failed right after the claim
    HEARTBEAT = "heartbeat"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    RETRY_SCHEDULED = "retry_scheduled"
    REQUEUED = "requeued"  # backoff elapsed
    DEAD = "dead"
    REDRIVEN = "redriven"


@dataclass(frozen=True)
class TaskEvent:
    at: float
    kind: EventKind
    attempt: int
    detail: str = ""

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"at": self.at, "event": self.kind.value, "attempt": self.attempt}
        if self.detail:
            item["detail"] = self.detail
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TaskEvent:
        return cls(at=float(item["at"]), kind=EventKind(item["event"]), attempt=int(item["attempt"]),
                   detail=str(item.get("detail", "")))


@dataclass(frozen=True)
class Task:
    """A read-only snapshot of one task row."""

    task_id: str
    labourer_id: str
    state: TaskState
    payload: dict[str, Any]
    attempts: int
    token: str
    created_at: float
    updated_at: float
    job_id: str | None = None
    deadline_at: float | None = None  # lease end while INVOKED, due time while RETRYING
    closed_at: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    result: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    events: tuple[TaskEvent, ...] = field(default=())


@dataclass(frozen=True)
class NewTask:
    """A task to create: validated at construction, so a bad one never reaches DynamoDB."""

    task_id: str
    labourer_id: str
    payload: dict[str, Any]
    job_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.task_id, str) or not TASK_ID_PATTERN.match(self.task_id):
            raise InvalidTask("task_id", f"must be 1-200 characters of A-Z a-z 0-9 _ . : - (got {self.task_id!r})")
        if not isinstance(self.labourer_id, str) or not self.labourer_id:
            raise InvalidTask("labourer_id", "must be a non-empty string")
        if not isinstance(self.payload, dict):
            raise InvalidTask("payload", f"must be a JSON object, not {type(self.payload).__name__}")
        size = len(self.payload_json.encode())
        if size > MAX_PAYLOAD_BYTES:
            raise InvalidTask("payload", f"is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} "
                                         "(DynamoDB items are at most 400 KB)")

    @property
    def payload_json(self) -> str:
        return encode_payload(self.payload)


def encode_payload(payload: dict[str, Any]) -> str:
    """The canonical JSON text stored for a payload (exact: no float/Decimal surprises)."""
    try:
        return json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTask("payload", f"must be JSON-serialisable: {exc}") from exc


def queue_sort_key(*, created_at: float, task_id: str, due_at: float | None = None) -> str:
    """The queue index's sort key: due retries first, then fresh tasks FIFO by creation.

    ``0#<due time>#<task_id>`` for a retry whose backoff has elapsed (and for a released or
    redriven task, which goes to the front), ``1#<creation time>#<task_id>`` for a fresh one.
    Times are zero-padded epoch milliseconds so that string order is time order.
    """
    if due_at is not None:
        return f"0#{int(due_at * 1000):015d}#{task_id}"
    return f"1#{int(created_at * 1000):015d}#{task_id}"


def runnable_since(sort_key: str) -> float | None:
    """When a queued task became runnable, read back from its :func:`queue_sort_key` (or None)."""
    parts = sort_key.split("#", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1]) / 1000.0


def retry_delay(backoff: Backoff, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed.

    Exponential: ``min(cap, base * factor ** (attempt - 1))``; then the ``jitter`` fraction of
    it is drawn uniformly, so concurrent failures spread out instead of retrying in lockstep.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    delay = min(backoff.cap_seconds, backoff.base_seconds * backoff.factor ** (attempt - 1))
    if backoff.jitter <= 0:
        return delay
    draw = (rng or random).random()
    return delay * (1.0 - backoff.jitter) + delay * backoff.jitter * draw


@dataclass(frozen=True)
class AfterFailure:
    """What a failed or expired attempt leads to: a retry at ``due_at``, or death."""

    state: TaskState
    due_at: float | None


def after_failure(*, attempts: int, max_attempts: int, backoff: Backoff, now: float,
                  rng: random.Random | None = None) -> AfterFailure:
    if attempts >= max_attempts:
        return AfterFailure(TaskState.DEAD, None)
    return AfterFailure(TaskState.RETRYING, now + retry_delay(backoff, attempts, rng))


def retention_expiry(now: float, days: float | None) -> int | None:
    """The TTL epoch for a task closed at ``now``, or None to keep it forever."""
    return None if days is None else int(now + days * 86400)

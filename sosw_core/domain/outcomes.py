"""What a store call tells its caller: outcomes of guarded writes, and refs read from the indexes.

These are the domain's words, shared by every store backend (DynamoDB, memory) and every
service; nothing here touches AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sosw_core.domain.task import Task, TaskState

REJECT_BAD_TOKEN = "the report's token does not belong to this task"
REJECT_DEAD = "the task is dead (used up its attempts); redrive it to run it again"
REJECT_SOSW07_UNTRUSTED = ("a sosw 0.7 report (no token) for a labourer that does not accept them; "
                           "set accept_sosw07_reports: true on the labourer to trust its workers")
REJECT_NEVER_INVOKED = "a sosw 0.7 report (no token) for a task that was never invoked"


class Outcome(StrEnum):
    """What a guarded write of a task did."""

    APPLIED = "applied"  # this call changed the task
    DUPLICATE = "duplicate"  # the same change was already made (idempotent repeat)
    STALE = "stale"  # about an attempt that is no longer current: ignored
    LOST_RACE = "lost_race"  # another actor changed the task first: ignored
    REFUSED = "refused"  # a report refused, nothing written (told to asynchronous sosw 0.7 callers)


@dataclass(frozen=True)
class QueuedRef:
    """A row of the queue index: a runnable task, as the (eventually consistent) index saw it."""

    task_id: str
    attempts: int
    runnable_at: float | None = None  # from the queue sort key: creation, or when a retry came due


@dataclass(frozen=True)
class DueRef:
    """A row of the deadline index whose time has come."""

    task_id: str
    state: TaskState
    attempts: int
    deadline_at: float


@dataclass(frozen=True)
class HandOffResult:
    """What a completion that tried to pass its slot on did."""

    outcome: Outcome | None  # of the completion; None: not written, the next task was taken
    next_task: Task | None  # claimed in the same transaction (invoke it), or None


NEXT_TAKEN = HandOffResult(None, None)


@dataclass(frozen=True)
class CreateResult:
    """What a batched, idempotent creation of tasks did."""

    created: int
    skipped: int  # already existed: re-creating is a no-op

"""Completion hand-off: complete one task and claim the next of its labourer in one transaction.

Why one transaction: the running count a dispatch reads (tasks INVOKED) must never be lower
than the runs really going on. Completing task A and then claiming task B as two writes would
open a window in which A is closed and B not yet claimed; an orchestrator counting then sees a
free slot and fills it, and B's claim makes one run too many::

    assistant:     complete A ✔ ─────────────── claim B ✔        → max + 1 running ✘
    orchestrator:           count (max - 1) ─ claim C ✔

With ``TransactWriteItems`` [A: INVOKED → COMPLETED, B: QUEUED → INVOKED] the count moves
from N to N in one step, so hand-offs need no dispatch lease (:mod:`.dispatch_lease`).

Guards (both must hold or nothing is written):

* A: ``token AND labourer AND state = invoked AND attempts = <reported attempt>`` — only the
  completion of the attempt that holds a slot may pass it on. A late completion (the task is
  RETRYING or QUEUED again) holds no slot; a duplicate finds A COMPLETED. Both fall back to
  the plain :meth:`TaskStore.complete`, which accounts for them without a hand-off.
* B: the claim guard (``state = queued AND attempts = seen AND labourer``) — B may have been
  claimed by an orchestrator since the queue was read; then A is completed alone.

A transaction retried by botocore after its first try committed (a lost response) finds A
COMPLETED and falls back: B stays INVOKED without an invocation until its lease runs out and
the Scavenger retries it — one attempt spent, nothing lost.
"""

from __future__ import annotations

import logging
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from sosw_core.adapters.dynamodb.errors import TRANSACTION_CANCELLED
from sosw_core.adapters.dynamodb.task_store import TaskStore
from sosw_core.config.model import LabourerConfig
from sosw_core.domain.outcomes import NEXT_TAKEN, HandOffResult, Outcome, QueuedRef

logger = logging.getLogger(__name__)


_FINE = (None, "None")  # how DynamoDB marks an item that did not cancel the transaction


def complete_and_claim(store: TaskStore, task_id: str, token: str, attempt: int,
                       labourer: LabourerConfig, now: float, next_ref: QueuedRef, *,
                       result: dict[str, Any] | None = None,
                       stats: dict[str, Any] | None = None) -> HandOffResult:
    """Complete ``task_id`` and claim ``next_ref`` atomically; see the module docstring.

    When only the claim's guard failed (someone claimed ``next_ref`` first), nothing is written
    and :data:`NEXT_TAKEN` is returned, so the caller may try another queued task. When the
    completion's own guard failed, the plain :meth:`TaskStore.complete` decides its outcome.
    """
    model = store.models.task
    done_actions, done_guard = store._complete_parts(token, attempt, now, labourer.id, result, stats,
                                                     current_only=True)
    claim_actions, claim_guard = store._claim_parts(next_ref.attempts, labourer, now)
    connection = model._get_connection().connection  # the models' client: same retries and meters
    try:
        with store._errors(), TransactWrite(connection=connection) as tx:
            tx.update(model(task_id), done_actions, done_guard)
            tx.update(model(next_ref.task_id), claim_actions, claim_guard)
    except TransactWriteError as exc:
        if exc.cause_response_code != TRANSACTION_CANCELLED:
            raise
        reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
        if len(reasons) == 2 and reasons[0] in _FINE and reasons[1] not in _FINE:
            return NEXT_TAKEN  # the completion itself was fine
        logger.debug("hand-off cancelled; completing alone",
                     extra={"task_id": task_id, "labourer_id": labourer.id, "reasons": reasons})
        outcome = store.complete(task_id, token, attempt, now, labourer_id=labourer.id,
                                 result=result, stats=stats)
        return HandOffResult(outcome, None)
    return HandOffResult(Outcome.APPLIED, store.get(next_ref.task_id))

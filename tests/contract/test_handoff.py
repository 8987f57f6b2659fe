"""The completion hand-off's contract (``complete_and_claim``): both writes or neither."""

from __future__ import annotations

import pytest

from sosw_core.domain.outcomes import NEXT_TAKEN, HandOffResult, Outcome
from sosw_core.domain.task import EventKind, TaskState
from sosw_core.errors import ReportRejected
from tests.contract.steps import T0, W, claim_next, queued


def running_and_next(store):
    """t0 INVOKED (attempt 1), and the queue's next task (t1) as the assistant would read it."""
    queued(store, 3)
    task = claim_next(store)
    (ref,) = store.queries.next_queued("w", 1)
    return task, ref


def test_the_completion_and_the_claim_are_written_together(any_store):
    task, ref = running_and_next(any_store)
    result = any_store.tasks.complete_and_claim(task.task_id, task.token, 1, W, T0 + 5, ref,
                                                result={"n": 1}, stats={"ms": 3})
    assert result.outcome is Outcome.APPLIED
    nxt = result.next_task
    assert (nxt.task_id, nxt.state, nxt.attempts, nxt.deadline_at) == (ref.task_id, TaskState.INVOKED, 1, T0 + 65)
    assert nxt == any_store.tasks.get(ref.task_id)
    done = any_store.tasks.get(task.task_id)
    assert (done.state, done.result, done.stats, done.closed_at) == (TaskState.COMPLETED, {"n": 1}, {"ms": 3}, T0 + 5)
    assert any_store.queries.count_running("w") == 1  # one closed, one claimed
    assert [r.task_id for r in any_store.queries.next_queued("w", 5)] == ["t2"]


def test_when_the_next_task_was_taken_nothing_is_written(any_store):
    task, ref = running_and_next(any_store)
    assert any_store.tasks.claim(ref.task_id, ref.attempts, W, T0 + 4)  # an orchestrator was first
    assert any_store.tasks.complete_and_claim(task.task_id, task.token, 1, W, T0 + 5, ref) == NEXT_TAKEN
    assert any_store.tasks.get(task.task_id) == task  # still running: the caller tries another
    assert any_store.tasks.get(ref.task_id).attempts == 1


def test_a_late_completion_is_accepted_alone_and_passes_no_slot_on(any_store):
    task, ref = running_and_next(any_store)
    any_store.tasks.expire(task.task_id, 1, W, T0 + 70)  # its lease ran out: it holds no slot
    result = any_store.tasks.complete_and_claim(task.task_id, task.token, 1, W, T0 + 71, ref)
    assert result == HandOffResult(Outcome.APPLIED, None)
    assert any_store.tasks.get(task.task_id).state is TaskState.COMPLETED
    assert any_store.tasks.get(ref.task_id).state is TaskState.QUEUED


def test_a_duplicate_completion_claims_nothing(any_store):
    task, ref = running_and_next(any_store)
    any_store.tasks.complete(task.task_id, task.token, 1, T0 + 5)
    result = any_store.tasks.complete_and_claim(task.task_id, task.token, 1, W, T0 + 6, ref)
    assert result == HandOffResult(Outcome.DUPLICATE, None)
    assert any_store.tasks.get(ref.task_id).state is TaskState.QUEUED
    done = any_store.tasks.get(task.task_id)
    assert [e.kind for e in done.events].count(EventKind.COMPLETED) == 1


def test_a_forged_hand_off_is_refused_and_writes_nothing(any_store):
    task, ref = running_and_next(any_store)
    with pytest.raises(ReportRejected):
        any_store.tasks.complete_and_claim(task.task_id, "forged", 1, W, T0 + 5, ref)
    assert any_store.tasks.get(task.task_id) == task
    assert any_store.tasks.get(ref.task_id).state is TaskState.QUEUED

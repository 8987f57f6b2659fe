"""The index reads' contract (queue, deadline, closed), on memory, moto and DynamoDB Local."""

from __future__ import annotations

import pytest

from sosw_core.domain.outcomes import QueuedRef
from sosw_core.domain.task import TaskState
from tests.contract.steps import T0, W, claim_next, queued
from tests.support import labourer

ONCE = labourer("w", max_attempts=1)


def test_each_labourer_has_its_own_queue_in_fifo_order_with_runnable_times(any_store):
    queued(any_store, 3)
    queued(any_store, 2, labourer_id="other", prefix="o")
    assert any_store.queries.next_queued("w", 10) == [
        QueuedRef("t0", 0, T0), QueuedRef("t1", 0, pytest.approx(T0 + 0.001)),
        QueuedRef("t2", 0, pytest.approx(T0 + 0.002))]
    assert [r.task_id for r in any_store.queries.next_queued("other", 10)] == ["o0", "o1"]
    assert any_store.queries.count_queued("w") == 3 and any_store.queries.count_queued("nobody") == 0
    assert any_store.queries.queue_depth_page("w") == (3, True)
    assert any_store.queries.oldest_queued_at("w") == T0
    assert any_store.queries.oldest_queued_at("nobody") is None


def test_a_due_retry_runs_before_fresh_tasks_from_its_due_time(any_store):
    queued(any_store, 2)
    first = claim_next(any_store)
    any_store.tasks.fail(first.task_id, first.token, 1, W, T0 + 2, error_type="E", message="m")
    any_store.tasks.requeue(first.task_id, "w", T0 + 12, T0 + 15)
    refs = any_store.queries.next_queued("w", 10)
    assert refs == [QueuedRef("t0", 1, T0 + 12), QueuedRef("t1", 0, pytest.approx(T0 + 0.001))]
    assert any_store.queries.oldest_queued_at("w") == T0  # the task's creation, not its due time


def test_due_lists_the_deadline_index_in_time_order_up_to_now(any_store):
    queued(any_store, 4)
    a = claim_next(any_store, now=T0 + 30)  # lease ends T0 + 90
    b = claim_next(any_store, now=T0 + 10)  # lease ends T0 + 70
    c = claim_next(any_store, now=T0 + 20)  # fails: retry due at T0 + 21 + 10
    any_store.tasks.fail(c.task_id, c.token, 1, W, T0 + 21, error_type="E", message="m")
    assert any_store.queries.due("w", T0 + 30, 10) == []  # no lease ended, no backoff elapsed yet
    assert [d.task_id for d in any_store.queries.due("w", T0 + 31, 10)] == [c.task_id]
    due = any_store.queries.due("w", T0 + 100, 10)
    assert [(d.task_id, d.state, d.attempts, d.deadline_at) for d in due] == [
        (c.task_id, TaskState.RETRYING, 1, T0 + 31), (b.task_id, TaskState.INVOKED, 1, T0 + 70),
        (a.task_id, TaskState.INVOKED, 1, T0 + 90)]
    assert [d.task_id for d in any_store.queries.due("w", T0 + 100, 2)] == [c.task_id, b.task_id]
    assert any_store.queries.count_running("w") == 2
    assert any_store.queries.due("other", T0 + 100, 10) == []


def test_due_before_the_first_deadline_is_empty(any_store):
    queued(any_store)
    claim_next(any_store)
    assert any_store.queries.due("w", T0 + 60, 10) == []
    assert len(any_store.queries.due("w", T0 + 61, 10)) == 1  # the lease ends at T0 + 61: due then


def test_a_dead_task_awaiting_its_alert_is_due_and_closed_and_counted_once(any_store):
    queued(any_store)
    task = claim_next(any_store, ONCE)
    any_store.tasks.fail(task.task_id, task.token, 1, ONCE, T0 + 2, error_type="E", message="m")
    assert [(d.task_id, d.state) for d in any_store.queries.due("w", T0 + 2, 10)] == [(task.task_id, TaskState.DEAD)]
    assert [t.task_id for t in any_store.queries.closed("w")] == [task.task_id]
    assert any_store.queries.counts("w")[TaskState.DEAD] == 1
    assert any_store.queries.count_running("w") == 0
    any_store.tasks.take_alert(task.task_id)
    assert any_store.queries.counts("w")[TaskState.DEAD] == 1
    assert [t.state for t in any_store.queries.list_tasks("w")] == [TaskState.DEAD]


def close_five(store):
    """t0..t4 closed at T0+10..T0+14: t1 and t3 DEAD, the others COMPLETED."""
    queued(store, 5)
    for i in range(5):
        task = claim_next(store, ONCE)
        if i % 2:
            store.tasks.fail(task.task_id, task.token, 1, ONCE, T0 + 10 + i, error_type="E", message="m")
        else:
            store.tasks.complete(task.task_id, task.token, 1, T0 + 10 + i)


def test_closed_is_newest_first_within_a_time_range_and_state(any_store):
    close_five(any_store)
    closed = any_store.queries.closed
    assert [t.task_id for t in closed("w")] == ["t4", "t3", "t2", "t1", "t0"]
    assert [t.task_id for t in closed("w", since=T0 + 11, until=T0 + 13)] == ["t3", "t2", "t1"]
    assert [t.task_id for t in closed("w", since=T0 + 13)] == ["t4", "t3"]
    assert [t.task_id for t in closed("w", until=T0 + 10)] == ["t0"]
    assert [t.task_id for t in closed("w", state=TaskState.DEAD)] == ["t3", "t1"]
    assert [t.task_id for t in closed("w", state=TaskState.COMPLETED, limit=2)] == ["t4", "t2"]
    full = next(closed("w", limit=1))
    assert full.task_id == "t4" and full.payload == {"i": 4} and full.closed_at == T0 + 14


def test_list_tasks_by_state_and_all_of_them(any_store):
    queued(any_store, 4)
    a, b = claim_next(any_store, ONCE), claim_next(any_store, ONCE)
    any_store.tasks.complete(a.task_id, a.token, 1, T0 + 2)
    lists = any_store.queries.list_tasks
    assert [t.task_id for t in lists("w", TaskState.QUEUED)] == ["t2", "t3"]
    assert [t.task_id for t in lists("w", TaskState.INVOKED)] == [b.task_id]
    assert [t.task_id for t in lists("w", TaskState.COMPLETED)] == [a.task_id]
    assert lists("w", TaskState.RETRYING) == [] and lists("w", TaskState.DEAD) == []
    everything = lists("w")
    assert [(t.task_id, t.state) for t in everything] == [
        ("t2", TaskState.QUEUED), ("t3", TaskState.QUEUED), (b.task_id, TaskState.INVOKED),
        (a.task_id, TaskState.COMPLETED)]
    assert len(lists("w", limit=3)) == 3
    assert {s.value: n for s, n in any_store.queries.counts("w").items()} == {
        "queued": 2, "invoked": 1, "retrying": 0, "completed": 1, "dead": 0}

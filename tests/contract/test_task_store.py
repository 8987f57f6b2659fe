"""The task store's contract, run on memory, moto and DynamoDB Local alike (``any_store``)."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import PynamoDBException

from sosw_core.adapters.memory import ItemTooLarge
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.errors import InvalidTask, ReportRejected, TaskNotFound
from tests.contract.steps import T0, W, claim_next, queued
from tests.support import count_rows, labourer


def test_create_is_idempotent_by_task_id(any_store):
    assert any_store.tasks.create(NewTask("a", "w", {"x": 1}), T0)
    task = claim_next(any_store)
    assert not any_store.tasks.create(NewTask("a", "w", {"x": 2}), T0 + 5)
    again = any_store.tasks.get("a")
    assert (again.state, again.attempts, again.payload) == (TaskState.INVOKED, 1, {"x": 1})
    assert again.token == task.token
    assert count_rows(any_store) == 1


def test_batch_create_skips_existing_and_keeps_their_state(any_store):
    queued(any_store, 3)
    claim_next(any_store)
    result = any_store.batch.create_many([NewTask(f"t{i}", "w", {"i": i}) for i in range(60)], T0 + 2)
    assert (result.created, result.skipped) == (57, 3)
    assert count_rows(any_store) == 60
    assert any_store.tasks.get("t0").state is TaskState.INVOKED
    assert any_store.queries.count_queued("w") == 59


def test_queue_order_due_retries_first_then_fifo(any_store):
    queued(any_store, 3)  # t0, t1, t2 in creation order
    first = claim_next(any_store)
    assert first.task_id == "t0"
    any_store.tasks.fail("t0", first.token, 1, W, T0 + 2, error_type="E", message="m")
    assert any_store.tasks.requeue("t0", "w", T0 + 12, T0 + 20) is Outcome.APPLIED
    refs = any_store.queries.next_queued("w", 10)
    assert [r.task_id for r in refs] == ["t0", "t1", "t2"]
    assert refs[0].attempts == 1


def test_queue_read_respects_limit(any_store):
    queued(any_store, 7)
    assert len(any_store.queries.next_queued("w", 4)) == 4
    assert any_store.queries.next_queued("w", 0) == []


def test_claim_wins_once_and_starts_a_lease(any_store):
    queued(any_store)
    ref = any_store.queries.next_queued("w", 1)[0]
    task = any_store.tasks.claim(ref.task_id, ref.attempts, W, T0 + 1)
    assert (task.state, task.attempts, task.deadline_at) == (TaskState.INVOKED, 1, T0 + 61)
    assert any_store.tasks.claim(ref.task_id, ref.attempts, W, T0 + 1) is None
    assert any_store.queries.next_queued("w", 5) == []
    assert any_store.queries.count_running("w") == 1
    assert [e.kind for e in task.events] == [EventKind.CREATED, EventKind.CLAIMED]


def test_claim_refuses_another_labourers_task(any_store):
    queued(any_store)
    assert any_store.tasks.claim("t0", 0, labourer("other"), T0) is None


def test_release_puts_the_task_back_at_once_without_using_an_attempt(any_store):
    queued(any_store, 2)
    task = claim_next(any_store)
    assert any_store.tasks.release(task, T0 + 2, "invoke failed") is Outcome.APPLIED
    again = any_store.tasks.get(task.task_id)
    assert (again.state, again.attempts) == (TaskState.QUEUED, 0)
    assert [r.task_id for r in any_store.queries.next_queued("w", 2)][0] == task.task_id
    assert any_store.tasks.release(task, T0 + 3, "twice") is Outcome.LOST_RACE


def test_complete_is_idempotent_and_closes_the_task(any_store):
    queued(any_store)
    task = claim_next(any_store)
    result = {"rows-processed": 5, "nested": {"a-b": [1, 2.5, "x"]}}
    assert any_store.tasks.complete(task.task_id, task.token, 1, T0 + 2, result=result,
                                    stats={"time-ms": 12}) is Outcome.APPLIED
    assert any_store.tasks.complete(task.task_id, task.token, 1, T0 + 3) is Outcome.DUPLICATE
    done = any_store.tasks.get(task.task_id)
    assert done.state is TaskState.COMPLETED
    assert done.result == result and done.stats == {"time-ms": 12}
    assert done.closed_at == T0 + 2
    assert [e.kind for e in done.events].count(EventKind.COMPLETED) == 1
    assert any_store.queries.count_running("w") == 0
    assert any_store.queries.due("w", T0 + 10_000, 10) == []
    assert [t.task_id for t in any_store.queries.closed("w")] == [task.task_id]


def test_report_with_a_wrong_token_is_refused_and_changes_nothing(any_store):
    queued(any_store)
    task = claim_next(any_store)
    with pytest.raises(ReportRejected):
        any_store.tasks.complete(task.task_id, "forged", 1, T0 + 2)
    with pytest.raises(ReportRejected):
        any_store.tasks.fail(task.task_id, "forged", 1, W, T0 + 2, error_type="E", message="m")
    assert any_store.tasks.get(task.task_id) == task


def test_report_for_an_unknown_task_creates_no_row(any_store):
    with pytest.raises(TaskNotFound):
        any_store.tasks.complete("ghost", "token", 1, T0)
    with pytest.raises(TaskNotFound):
        any_store.tasks.heartbeat("ghost", "token", 1, W, T0)
    assert count_rows(any_store) == 0


def test_failure_schedules_a_retry_with_backoff_then_dies(any_store):
    lab = labourer("w", max_attempts=2)
    queued(any_store)
    task = claim_next(any_store, lab)
    outcome = any_store.tasks.fail(task.task_id, task.token, 1, lab, T0 + 2, error_type="ValueError",
                                   message="bad row")
    assert outcome == (Outcome.APPLIED, TaskState.RETRYING)
    retrying = any_store.tasks.get(task.task_id)
    assert retrying.deadline_at == T0 + 2 + 10  # base 10 s, no jitter
    assert (retrying.error_type, retrying.error_message) == ("ValueError", "bad row")
    assert any_store.queries.next_queued("w", 1) == []  # not runnable before its backoff
    any_store.tasks.requeue(task.task_id, "w", retrying.deadline_at, T0 + 12)
    task2 = claim_next(any_store, lab, T0 + 13)
    assert task2.attempts == 2
    outcome = any_store.tasks.fail(task.task_id, task.token, 2, lab, T0 + 14, error_type="ValueError",
                                   message="again")
    assert outcome == (Outcome.APPLIED, TaskState.DEAD)
    dead = any_store.tasks.get(task.task_id)
    assert dead.state is TaskState.DEAD and dead.closed_at == T0 + 14
    assert any_store.queries.counts("w")[TaskState.DEAD] == 1


def test_a_failure_keeps_the_stats_and_result_its_attempt_reported(any_store):
    lab = labourer("w", max_attempts=2)
    queued(any_store)
    task = claim_next(any_store, lab)
    outcome = any_store.tasks.fail(task.task_id, task.token, 1, lab, T0 + 2, error_type="MarkedAsFailed",
                                   message="m", stats={"rows": 3, "nested": {"a": [1]}}, result={"why": "x"})
    assert outcome == (Outcome.APPLIED, TaskState.RETRYING)
    failed = any_store.tasks.get(task.task_id)
    assert (failed.stats, failed.result) == ({"rows": 3, "nested": {"a": [1]}}, {"why": "x"})
    # a stale failure writes neither
    assert any_store.tasks.fail(task.task_id, task.token, 1, lab, T0 + 3, error_type="E", message="m",
                                stats={"rows": 9}) == (Outcome.STALE, None)
    assert any_store.tasks.get(task.task_id).stats == {"rows": 3, "nested": {"a": [1]}}


def test_a_stale_failure_is_ignored(any_store):
    queued(any_store)
    task = claim_next(any_store)
    any_store.tasks.expire(task.task_id, 1, W, T0 + 100)
    outcome = any_store.tasks.fail(task.task_id, task.token, 1, W, T0 + 101, error_type="E", message="late")
    assert outcome == (Outcome.STALE, None)
    assert any_store.tasks.get(task.task_id).error_type == "LeaseExpired"


def test_heartbeat_extends_only_the_current_attempt(any_store):
    queued(any_store)
    task = claim_next(any_store)
    assert any_store.tasks.heartbeat(task.task_id, task.token, 1, W, T0 + 50) is Outcome.APPLIED
    assert any_store.tasks.get(task.task_id).deadline_at == T0 + 110
    assert any_store.tasks.expire(task.task_id, 1, W, T0 + 100) == (Outcome.LOST_RACE, None)
    assert any_store.tasks.heartbeat(task.task_id, task.token, 2, W, T0 + 60) is Outcome.STALE
    assert any_store.tasks.get(task.task_id).deadline_at == T0 + 110


def test_expire_lists_and_retries_lapsed_leases(any_store):
    queued(any_store, 2)
    a = claim_next(any_store)
    claim_next(any_store, now=T0 + 30)
    due = any_store.queries.due("w", T0 + 70, 10)
    assert [(d.task_id, d.state) for d in due] == [(a.task_id, TaskState.INVOKED)]
    assert any_store.tasks.expire(a.task_id, 1, W, T0 + 70) == (Outcome.APPLIED, TaskState.RETRYING)
    assert any_store.tasks.expire(a.task_id, 1, W, T0 + 70) == (Outcome.LOST_RACE, None)
    assert any_store.queries.count_running("w") == 1


def test_late_completion_wins_and_the_task_never_runs_again(any_store):
    queued(any_store)
    first = claim_next(any_store)
    any_store.tasks.expire(first.task_id, 1, W, T0 + 70)  # lease lapsed: retry scheduled
    retry = any_store.tasks.get(first.task_id)
    any_store.tasks.requeue(first.task_id, "w", retry.deadline_at, T0 + 100)  # and queued again
    assert any_store.tasks.complete(first.task_id, first.token, 1, T0 + 101) is Outcome.APPLIED
    assert any_store.queries.next_queued("w", 5) == []
    assert any_store.tasks.claim(first.task_id, 1, W, T0 + 102) is None
    done = any_store.tasks.get(first.task_id)
    assert (done.state, done.attempts, done.labourer_id) == (TaskState.COMPLETED, 1, "w")


def test_dead_alert_is_taken_once_and_can_be_returned(any_store):
    lab = labourer("w", max_attempts=1)
    queued(any_store)
    task = claim_next(any_store, lab)
    any_store.tasks.fail(task.task_id, task.token, 1, lab, T0 + 2, error_type="E", message="m")
    assert [d.state for d in any_store.queries.due("w", T0 + 2, 10)] == [TaskState.DEAD]
    assert any_store.tasks.take_alert(task.task_id)
    assert not any_store.tasks.take_alert(task.task_id)
    assert any_store.queries.due("w", T0 + 2, 10) == []
    assert any_store.tasks.return_alert(task.task_id, "w", T0 + 3)
    assert [d.task_id for d in any_store.queries.due("w", T0 + 3, 10)] == [task.task_id]


def test_completion_of_a_dead_task_is_refused(any_store):
    lab = labourer("w", max_attempts=1)
    queued(any_store)
    task = claim_next(any_store, lab)
    any_store.tasks.expire(task.task_id, 1, lab, T0 + 100)
    with pytest.raises(ReportRejected):
        any_store.tasks.complete(task.task_id, task.token, 1, T0 + 101)
    assert any_store.tasks.get(task.task_id).state is TaskState.DEAD


def test_redrive_gives_a_dead_task_a_fresh_budget_once(any_store):
    lab = labourer("w", max_attempts=1)
    queued(any_store, 2)
    task = claim_next(any_store, lab)
    any_store.tasks.fail(task.task_id, task.token, 1, lab, T0 + 2, error_type="E", message="m")
    assert any_store.tasks.redrive(task.task_id, T0 + 5) is Outcome.APPLIED
    assert any_store.tasks.redrive(task.task_id, T0 + 5) is Outcome.LOST_RACE
    again = any_store.tasks.get(task.task_id)
    assert (again.state, again.attempts, again.closed_at) == (TaskState.QUEUED, 0, None)
    assert any_store.queries.next_queued("w", 1)[0].task_id == task.task_id
    assert [e.kind for e in again.events][-1] is EventKind.REDRIVEN
    assert any_store.queries.due("w", T0 + 10, 10) == []


def test_counts_per_state(any_store):
    lab = labourer("w", max_attempts=1)
    queued(any_store, 5)
    a = claim_next(any_store, lab)
    b = claim_next(any_store, lab)
    c = claim_next(any_store, lab)
    any_store.tasks.complete(a.task_id, a.token, 1, T0 + 2)
    any_store.tasks.fail(b.task_id, b.token, 1, lab, T0 + 2, error_type="E", message="m")
    counts = any_store.queries.counts("w")
    assert {s.value: n for s, n in counts.items()} == {
        "queued": 2, "invoked": 1, "retrying": 0, "completed": 1, "dead": 1}
    assert c.state is TaskState.INVOKED


def test_oversized_payload_is_refused_before_any_write(any_store):
    with pytest.raises(InvalidTask, match="payload"):
        any_store.tasks.create(NewTask("big", "w", {"blob": "x" * 300_000}), T0)
    assert count_rows(any_store) == 0


def test_reports_naming_another_labourer_are_refused(any_store):
    queued(any_store)
    task = claim_next(any_store)
    other = labourer("other")
    with pytest.raises(ReportRejected, match="the task belongs to 'w'"):
        any_store.tasks.heartbeat(task.task_id, task.token, 1, other, T0 + 2)
    with pytest.raises(ReportRejected, match="the task belongs to 'w'"):
        any_store.tasks.complete(task.task_id, task.token, 1, T0 + 2, labourer_id="other")
    assert any_store.tasks.expire(task.task_id, 1, other, T0 + 100) == (Outcome.LOST_RACE, None)
    assert any_store.tasks.get(task.task_id) == task


def test_a_completion_of_an_old_attempt_is_stale_while_a_newer_one_runs(any_store):
    queued(any_store)
    first = claim_next(any_store)
    any_store.tasks.expire(first.task_id, 1, W, T0 + 70)
    any_store.tasks.requeue(first.task_id, "w", T0 + 80, T0 + 80)
    second = claim_next(any_store, now=T0 + 81)
    assert any_store.tasks.complete(first.task_id, first.token, 1, T0 + 82) is Outcome.STALE
    assert any_store.tasks.get(first.task_id) == second  # the running attempt keeps its slot
    assert any_store.tasks.complete(first.task_id, first.token, 2, T0 + 83) is Outcome.APPLIED


def test_the_history_says_what_happened_in_order(any_store):
    queued(any_store)
    task = claim_next(any_store)
    any_store.tasks.heartbeat(task.task_id, task.token, 1, W, T0 + 5)
    any_store.tasks.fail(task.task_id, task.token, 1, W, T0 + 6, error_type="KeyError",
                         message="'k'\nTraceback (most recent call last): ...")
    row = any_store.tasks.get(task.task_id)
    assert [(e.kind, e.attempt, e.at, e.detail) for e in row.events] == [
        (EventKind.CREATED, 0, T0, ""), (EventKind.CLAIMED, 1, T0 + 1, ""), (EventKind.HEARTBEAT, 1, T0 + 5, ""),
        (EventKind.FAILED, 1, T0 + 6, "KeyError: 'k'"), (EventKind.RETRY_SCHEDULED, 1, T0 + 6, "due in 10.0s")]
    assert row.error_message.startswith("'k'\nTraceback") and row.updated_at == T0 + 6


def test_a_released_task_is_not_running_and_can_be_claimed_again(any_store):
    queued(any_store)
    task = claim_next(any_store)
    any_store.tasks.release(task, T0 + 2, "throttled " * 100)
    again = any_store.tasks.get(task.task_id)
    assert (again.deadline_at, again.events[-1].kind, len(again.events[-1].detail)) == (None, EventKind.RELEASED, 500)
    assert any_store.queries.count_running("w") == 0 and any_store.queries.due("w", T0 + 1000, 10) == []
    assert claim_next(any_store, now=T0 + 3).attempts == 1


def test_get_and_find_of_a_missing_task(any_store):
    with pytest.raises(TaskNotFound, match="no task with task_id 'ghost'"):
        any_store.tasks.get("ghost")
    assert any_store.tasks.find("ghost") is None


@pytest.mark.not_on_moto(reason="moto applies an update past the 400 KB item limit and then refuses it "
                                "(moto 5.2.5: the row is changed although the call raised)")
def test_a_write_past_the_item_size_limit_is_refused_and_changes_nothing(any_store):
    assert any_store.tasks.create(NewTask("big", "w", {"blob": "x" * 250_000}), T0)
    task = claim_next(any_store)
    with pytest.raises((ItemTooLarge, PynamoDBException), match="size"):
        any_store.tasks.complete(task.task_id, task.token, 1, T0 + 2, result={"r": "y" * 200_000})
    assert any_store.tasks.get("big") == task

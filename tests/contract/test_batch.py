"""Batched creation's contract: idempotent, and the Scheduler's low-level rows are tasks."""

from __future__ import annotations

from sosw_core.adapters.dynamodb.batch import ItemFactory
from sosw_core.domain.task import EventKind, NewTask, TaskState
from tests.contract.steps import T0, claim_next, queued
from tests.support import count_rows


def test_create_many_skips_existing_and_repeated_ids(any_store):
    queued(any_store, 2)
    tasks = [NewTask(f"t{i}", "w", {"i": i}) for i in (0, 1, 2, 3, 3)]
    result = any_store.batch.create_many(tasks, T0 + 1)
    assert (result.created, result.skipped) == (2, 3)
    again = any_store.batch.create_many(tasks, T0 + 2)
    assert (again.created, again.skipped) == (0, 5)
    assert count_rows(any_store) == 4
    assert any_store.tasks.get("t3").created_at == T0 + 1


def test_create_many_of_a_new_job_without_the_existence_check(any_store):
    result = any_store.batch.create_many([NewTask(f"n{i}", "w", {}, "job") for i in range(130)], T0,
                                         check_existing=False)
    assert (result.created, result.skipped) == (130, 0)
    assert any_store.queries.count_queued("w") == 130
    assert any_store.tasks.get("n129").job_id == "job"


def test_the_schedulers_rows_become_queued_tasks(any_store):
    make = ItemFactory(T0)
    any_store.batch.write_rows([make(f"j_{i:03d}", "w", "j", f'{{"i":{i}}}') for i in range(30)])
    assert any_store.batch.existing_ids(["j_000", "j_029", "j_030"]) == {"j_000", "j_029"}
    task = any_store.tasks.get("j_007")
    assert (task.state, task.attempts, task.payload, task.job_id, task.created_at) == (
        TaskState.QUEUED, 0, {"i": 7}, "j", T0)
    assert [e.kind for e in task.events] == [EventKind.CREATED] and len(task.token) >= 32
    assert [r.task_id for r in any_store.queries.next_queued("w", 3)] == ["j_000", "j_001", "j_002"]
    claimed = claim_next(any_store)
    assert (claimed.task_id, claimed.attempts) == ("j_000", 1)


def test_a_new_row_written_in_a_batch_reads_as_the_created_task(any_store):
    new = NewTask("a", "w", {"x": [1, 2.5, "y"], "nested": {"k": None}}, "job")
    any_store.batch.write_rows([any_store.tasks.new_row(new, T0)])
    written = any_store.tasks.get("a")
    assert any_store.tasks.create(NewTask("b", "w", new.payload, "job"), T0)
    created = any_store.tasks.get("b")
    assert written.payload == created.payload == new.payload
    assert (written.state, written.attempts, written.events, written.job_id) == (
        created.state, created.attempts, created.events, created.job_id)

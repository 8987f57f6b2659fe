"""Scavenger on moto: expiry, backoff, requeue, death and exactly-once alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import pytest
from moto import mock_aws

from sosw_core.adapters.dynamodb import Store, create_tables, open_store
from sosw_core.adapters.notifiers.base import DeadTaskAlert
from sosw_core.clock import FixedClock
from sosw_core.config import Backoff, SoswConfig
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.services.scavenger import Scavenger
from sosw_core.testing import HarnessContext
from sosw_core.wiring import build_scavenger
from tests.fakes import FlakyNotifier
from tests.support import alerted, labourer, make_config

T0 = 1_700_000_000.0
LEASE = 60  # tests.support.labourer's max_duration_seconds


@dataclass
class Setup:
    config: SoswConfig
    store: Store
    notifier: FlakyNotifier
    scavenger: Scavenger
    labourers: dict = field(default_factory=dict)

    def invoke(self, task_id: str, labourer_id: str, now: float):
        """Create a task and claim it (as an orchestrator would) at ``now``."""
        self.store.tasks.create(NewTask(task_id, labourer_id, {}), now)
        return self.claim(task_id, now)

    def claim(self, task_id: str, now: float):
        task = self.store.tasks.get(task_id)
        claimed = self.store.tasks.claim(task_id, task.attempts, self.config.labourer(task.labourer_id), now)
        assert claimed is not None, f"{task_id} was not claimable ({task.state})"
        return claimed


def build(labourers, failures: int = 0, **kwargs) -> Setup:
    config = make_config(None, labourers=labourers)
    store = open_store(config)
    create_tables(store.models)
    notifier = FlakyNotifier(failures)
    return Setup(config, store, notifier, build_scavenger(config, store, notifier=notifier, **kwargs))


@pytest.fixture(autouse=True)
def aws():
    with mock_aws():
        yield


def test_expired_lease_retries_with_backoff_then_requeues_then_is_claimed_again():
    s = build([labourer("w", max_attempts=3, backoff=Backoff(base_seconds=10, factor=2, jitter=0))])
    s.invoke("t", "w", T0)
    assert s.scavenger.sweep(T0 + LEASE - 1).due == 0  # the lease still runs

    report = s.scavenger.sweep(T0 + LEASE)
    assert (report.expired, report.killed, report.requeued) == (1, 0, 0)
    task = s.store.tasks.get("t")
    assert task.state is TaskState.RETRYING and task.deadline_at == T0 + LEASE + 10
    assert task.error_type == "LeaseExpired"

    assert s.scavenger.sweep(T0 + LEASE + 9).requeued == 0  # the backoff still runs
    assert s.scavenger.sweep(T0 + LEASE + 10).requeued == 1
    task = s.store.tasks.get("t")
    assert (task.state, task.attempts) == (TaskState.QUEUED, 1)
    assert [r.task_id for r in s.store.queries.next_queued("w", 5)] == ["t"]

    again = s.claim("t", T0 + 100)
    assert (again.state, again.attempts) == (TaskState.INVOKED, 2)
    assert s.notifier.batches == []


def test_after_max_attempts_the_task_dies_and_is_alerted_once_in_the_same_sweep():
    s = build([labourer("w", max_attempts=2, backoff=Backoff(base_seconds=10, factor=1, jitter=0))])
    s.invoke("t", "w", T0)
    s.scavenger.sweep(T0 + LEASE)  # attempt 1 expired
    s.scavenger.sweep(T0 + LEASE + 10)  # requeued
    s.claim("t", T0 + 100)
    report = s.scavenger.sweep(T0 + 100 + LEASE)
    assert (report.expired, report.killed, report.alerted) == (1, 1, ("t",))
    task = s.store.tasks.get("t")
    assert (task.state, task.attempts) == (TaskState.DEAD, 2)
    [[alert]] = s.notifier.batches
    assert alert == DeadTaskAlert("t", "w", 2, "LeaseExpired", f"no report within {LEASE}s")
    for later in (1, 2, 3600):
        assert s.scavenger.sweep(T0 + 100 + LEASE + later) == type(report)()
    assert alerted(s.notifier) == Counter({"t": 1})
    assert s.store.queries.due("w", T0 + 10**6, 10) == []  # no alert left pending


def test_a_task_failed_by_its_worker_is_alerted_by_the_next_sweep():
    s = build([labourer("w", max_attempts=1)])
    task = s.invoke("t", "w", T0)
    s.store.tasks.fail("t", task.token, 1, s.config.labourer("w"), T0 + 5,
                       error_type="ValueError", message="bad row 7")
    report = s.scavenger.sweep(T0 + 6)
    assert (report.expired, report.alerted) == (0, ("t",))
    [[alert]] = s.notifier.batches
    assert (alert.error_type, alert.error_message, alert.attempts) == ("ValueError", "bad row 7", 1)


def test_all_labourers_alerts_go_out_as_one_batch_per_sweep():
    s = build([labourer("a", max_attempts=1), labourer("b", max_attempts=1)])
    for i in range(3):
        s.invoke(f"a{i}", "a", T0)
        s.invoke(f"b{i}", "b", T0)
    report = s.scavenger.sweep(T0 + LEASE)
    assert report.killed == 6 and len(s.notifier.batches) == 1
    assert sorted((a.labourer_id, a.task_id) for a in s.notifier.batches[0]) == [
        ("a", "a0"), ("a", "a1"), ("a", "a2"), ("b", "b0"), ("b", "b1"), ("b", "b2")]


def test_publish_failure_returns_the_alerts_and_the_next_sweep_sends_them():
    s = build([labourer("w", max_attempts=1)], failures=1)
    s.invoke("t1", "w", T0)
    s.invoke("t2", "w", T0)
    with pytest.raises(ConnectionError):
        s.scavenger.sweep(T0 + LEASE)
    assert s.store.tasks.get("t1").state is TaskState.DEAD
    pending = s.store.queries.due("w", T0 + LEASE, 10)
    assert sorted((r.task_id, r.state) for r in pending) == [("t1", TaskState.DEAD), ("t2", TaskState.DEAD)]
    report = s.scavenger.sweep(T0 + LEASE + 60)
    assert sorted(report.alerted) == ["t1", "t2"]
    assert alerted(s.notifier) == Counter({"t1": 1, "t2": 1})


def test_a_heartbeat_or_completion_before_the_sweep_wins():
    s = build([labourer("w")])
    beating = s.invoke("beating", "w", T0)
    done = s.invoke("done", "w", T0)
    s.store.tasks.heartbeat("beating", beating.token, 1, s.config.labourer("w"), T0 + 30)
    s.store.tasks.complete("done", done.token, 1, T0 + 30)
    report = s.scavenger.sweep(T0 + LEASE)
    assert (report.due, report.expired) == (0, 0)
    assert s.store.tasks.get("beating").state is TaskState.INVOKED
    assert s.store.tasks.get("done").state is TaskState.COMPLETED


def test_a_completion_between_the_query_and_the_expire_is_a_lost_race():
    s = build([labourer("w")])
    task = s.invoke("t", "w", T0)

    class LateCompletion:
        def __init__(self, real):
            self.real = real

        def due(self, labourer_id, now, limit):
            rows = self.real.due(labourer_id, now, limit)
            s.store.tasks.complete("t", task.token, 1, now)  # the worker reports just in time
            return rows

    scavenger = build_scavenger(s.config, replace(s.store, queries=LateCompletion(s.store.queries)),
                                notifier=s.notifier)
    report = scavenger.sweep(T0 + LEASE)
    assert (report.due, report.expired, report.lost_races) == (1, 0, 1)
    assert s.store.tasks.get("t").state is TaskState.COMPLETED


def test_one_labourers_error_does_not_stop_the_others():
    s = build([labourer("a", max_attempts=1), labourer("b", max_attempts=1)])
    s.invoke("a1", "a", T0)
    s.invoke("b1", "b", T0)

    class BrokenForA:
        def __init__(self, real):
            self.real = real

        def due(self, labourer_id, now, limit):
            if labourer_id == "a":
                raise RuntimeError("index unavailable")
            return self.real.due(labourer_id, now, limit)

    scavenger = build_scavenger(s.config, replace(s.store, queries=BrokenForA(s.store.queries)),
                                notifier=s.notifier)
    report = scavenger.sweep(T0 + LEASE)
    assert report.errors == (("a", "RuntimeError: index unavailable"),)
    assert report.alerted == ("b1",)
    assert s.store.tasks.get("a1").state is TaskState.INVOKED


def test_the_events_tell_the_story():
    s = build([labourer("w", max_attempts=2, backoff=Backoff(base_seconds=10, factor=1, jitter=0))])
    s.invoke("t", "w", T0)
    s.scavenger.sweep(T0 + LEASE)
    s.scavenger.sweep(T0 + LEASE + 10)
    kinds = [e.kind for e in s.store.tasks.get("t").events]
    assert kinds == [EventKind.CREATED, EventKind.CLAIMED, EventKind.EXPIRED,
                     EventKind.RETRY_SCHEDULED, EventKind.REQUEUED]


def test_run_sweeps_once_by_default_and_loops_when_configured():
    clock = FixedClock(T0)
    once = build([labourer("w")], clock=clock)
    assert len(once.scavenger.run(HarnessContext("scavenger", clock, 60), sleep=clock.advance)) == 1
    looping = build([labourer("w")], sweep_seconds=20, stop_margin_seconds=5, clock=clock)
    reports = looping.scavenger.run(HarnessContext("scavenger", clock, 60), sleep=clock.advance)
    assert len(reports) == 3 and clock.now() == T0 + 40  # at 60, 40 and 20 seconds left

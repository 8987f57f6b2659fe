"""Orchestrator on moto: dispatch math, claims, invoke failures, rate limit, the tick loop.

Outcomes are read from rows (states, attempts) and from what a recording invoker received.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import pytest
from moto import mock_aws

from devtools.metering import RequestMeter
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store, create_tables, open_store
from sosw_core.clock import FixedClock
from sosw_core.config import Comparison, HealthMetric, OrchestratorConfig, SoswConfig
from sosw_core.domain.dispatch import StopReason
from sosw_core.domain.events import split_worker_event
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.services.orchestrator import DispatchRecord, Orchestrator
from sosw_core.testing import HarnessContext
from sosw_core.wiring import build_orchestrator
from tests.fakes import RecordingInvoker
from tests.support import labourer, make_config

T0 = 1_700_000_000.0
GOOD, MODERATE, POOR, BAD = 1.0, 40.0, 80.0, 500.0  # statuses 4, 2, 1, 0 for ``errors_metric``


def errors_metric(name: str = "errors") -> HealthMetric:
    """Lower is better: <=10 is status 4, <=20 is 3, <=50 is 2, <=100 is 1, above is 0."""
    return HealthMetric(name=name, namespace="AWS/Lambda", metric_name="Errors",
                        dimensions=(("FunctionName", name),), comparison=Comparison.LE,
                        feelings=((4, 10.0), (3, 20.0), (2, 50.0), (1, 100.0)))


@dataclass
class Setup:
    config: SoswConfig
    store: Store
    invoker: RecordingInvoker
    metric_values: dict[str, Any]  # what StaticMetrics reads: change it between ticks
    orchestrator: Orchestrator

    def queue(self, labourer_id: str, n: int, prefix: str | None = None) -> list[str]:
        ids = [f"{prefix or labourer_id}-{i:03d}" for i in range(n)]
        self.store.batch.create_many([NewTask(i, labourer_id, {"n": k}) for k, i in enumerate(ids)], T0 - 100)
        return ids

    def tick_at(self, now: float) -> list:
        """One tick at ``now``, with the orchestrator's clock (read before each claim) set to it."""
        self.orchestrator.clock.value = now
        return self.orchestrator.tick(now)

    def states(self, labourer_id: str | None = None) -> Counter:
        return Counter(r.state for r in self.store.models.task.scan()
                       if labourer_id is None or r.labourer_id == labourer_id)


def build(labourers, metric_values: dict[str, Any] | None = None, failing=(), metrics=None,
          **config_kwargs) -> Setup:
    config = make_config(None, labourers=labourers, **config_kwargs)
    store = open_store(config)
    create_tables(store.models)
    invoker = RecordingInvoker(failing)
    values = dict(metric_values or {})
    metrics = metrics or StaticMetrics(values)
    orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=metrics.for_tick,
                                      clock=FixedClock(T0))
    return Setup(config, store, invoker, values, orchestrator)


@pytest.fixture(autouse=True)
def aws():
    with mock_aws():
        yield


def by_id(records: list[DispatchRecord]) -> dict[str, DispatchRecord]:
    return {r.labourer_id: r for r in records}


# -- desired math -------------------------------------------------------------------------
def test_healthy_labourer_gets_max_simultaneous_and_workers_get_the_task_event():
    s = build([labourer("w", max_simultaneous_invocations=10, health_metrics=(errors_metric(),))],
              {"errors": GOOD})
    ids = s.queue("w", 15)
    [record] = s.orchestrator.tick(T0)
    assert (record.status, record.running, record.desired, record.invoked) == (4, 0, 10, 10)
    assert record.stopped_because is StopReason.DESIRED_REACHED
    assert s.states() == Counter({"invoked": 10, "queued": 5})
    assert list(record.task_ids) == ids[:10]  # FIFO
    payload, invocation = split_worker_event(s.invoker.calls[0][1])
    assert payload == {"n": 0}
    assert (invocation.task_id, invocation.labourer_id, invocation.attempt) == (ids[0], "w", 1)
    assert invocation.token == s.store.tasks.get(ids[0]).token


@pytest.mark.parametrize("value, status", [(BAD, 0), (POOR, 1)])
def test_bad_health_invokes_nothing_and_reads_no_dynamodb(value, status):
    s = build([labourer("w", health_metrics=(errors_metric(),))], {"errors": value})
    s.queue("w", 5)
    with RequestMeter(s.store.models) as meter:
        [record] = s.orchestrator.tick(T0)
    assert (record.status, record.invoked, record.running) == (status, 0, None)
    assert record.stopped_because is StopReason.UNHEALTHY
    assert meter.total == 0
    assert s.states() == Counter({"queued": 5})


def test_moderate_health_gets_half_of_max_and_running_tasks_subtract():
    s = build([labourer("w", max_simultaneous_invocations=10, health_metrics=(errors_metric(),))],
              {"errors": MODERATE})
    s.queue("w", 20)
    [first] = s.orchestrator.tick(T0)
    assert (first.status, first.running, first.desired, first.invoked) == (2, 0, 5, 5)
    s.metric_values["errors"] = GOOD
    [second] = s.tick_at(T0 + 10)
    assert (second.status, second.running, second.desired, second.invoked) == (4, 5, 5, 5)
    s.metric_values["errors"] = MODERATE
    with RequestMeter(s.store.models) as meter:
        [third] = s.tick_at(T0 + 20)
    assert (third.running, third.desired, third.invoked) == (10, 0, 0)
    assert third.stopped_because is StopReason.AT_MAXIMUM
    # the queue head, then the count; no lease is taken and nothing is claimed
    assert meter.requests == Counter({"Query": 2})
    assert s.states() == Counter({"invoked": 10, "queued": 10})


def test_worst_metric_wins():
    s = build([labourer("w", health_metrics=(errors_metric("a"), errors_metric("b")))],
              {"a": GOOD, "b": MODERATE})
    s.queue("w", 20)
    [record] = s.orchestrator.tick(T0)
    assert record.status == 2 and record.invoked == 5
    assert dict(record.metric_values) == {"a": GOOD, "b": MODERATE}


def test_a_metric_shared_by_labourers_is_read_once_per_tick():
    reads: list[tuple[str, float]] = []

    def read(name: str, now: float) -> float:
        reads.append((name, now))
        return MODERATE

    shared = errors_metric("shared")
    s = build([labourer("a", health_metrics=(shared,)), labourer("b", health_metrics=(shared,))],
              metrics=StaticMetrics(read))
    assert [r.status for r in s.orchestrator.tick(T0)] == [2, 2]
    s.tick_at(T0 + 10)
    assert reads == [("shared", T0), ("shared", T0 + 10)]


def test_queue_shorter_than_desired_stops_at_queue_empty():
    s = build([labourer("w", max_simultaneous_invocations=10)])
    s.queue("w", 3)
    [record] = s.orchestrator.tick(T0)
    assert (record.desired, record.invoked, record.stopped_because) == (10, 3, StopReason.QUEUE_EMPTY)
    [again] = s.tick_at(T0 + 1)  # an empty queue ends the turn before any count
    assert (again.running, again.invoked, again.stopped_because) == (None, 0, StopReason.QUEUE_EMPTY)


# -- failures -----------------------------------------------------------------------------
def test_invoke_failure_requeues_at_once_without_using_an_attempt_and_others_still_run():
    s = build([labourer("a"), labourer("b")], failing=("a",))
    a_ids = s.queue("a", 3)
    s.queue("b", 3)
    records = by_id(s.orchestrator.tick(T0))
    assert records["a"].invoked == 0
    assert records["a"].stopped_because is StopReason.INVOKE_FAILED
    assert records["a"].detail.startswith("TooManyRequestsException")
    assert records["b"].invoked == 3
    first = s.store.tasks.get(a_ids[0])
    assert (first.state, first.attempts) == (TaskState.QUEUED, 0)
    assert [e.kind for e in first.events] == [EventKind.CREATED, EventKind.CLAIMED, EventKind.RELEASED]
    assert s.states("a") == Counter({"queued": 3})  # the labourer stopped after the first failure
    s.invoker.failing.clear()
    records = by_id(s.tick_at(T0 + 10))
    assert records["a"].task_ids[0] == a_ids[0]  # released tasks go to the front of the queue
    assert s.store.tasks.get(a_ids[0]).attempts == 1


def test_an_error_in_one_labourer_is_recorded_and_does_not_stop_the_others(caplog):
    def read(name: str, now: float) -> float | None:
        if name == "broken":
            raise RuntimeError("cloudwatch is down")
        return GOOD

    s = build([labourer("a", health_metrics=(errors_metric("broken"),)), labourer("b")],
              metrics=StaticMetrics(read))
    s.queue("a", 2)
    s.queue("b", 2)
    with caplog.at_level(logging.INFO, logger="sosw_core.services.orchestrator"):
        records = by_id(s.orchestrator.tick(T0))
    assert records["a"].error == "RuntimeError: cloudwatch is down"
    assert (records["a"].stopped_because, records["a"].detail) == (StopReason.ERROR, None)
    assert records["b"].invoked == 2
    failed = [r for r in caplog.records if r.message == "dispatch failed"]
    assert failed and failed[0].exc_info is not None and failed[0].labourer_id == "a"


def test_claims_lost_to_another_dispatcher_allow_one_more_read():
    s = build([labourer("w", max_simultaneous_invocations=4)])
    ids = s.queue("w", 10)
    rival = labourer("w", max_simultaneous_invocations=4)

    class RacingQueries:
        """The real queries; right after the binding running count (the second, under the dispatch
        lease), a rival claims the queue's first 3 (as completion hand-offs may, without the lease)."""

        def __init__(self, real):
            self.real, self.reads, self.counts = real, 0, 0

        def __getattr__(self, name):
            return getattr(self.real, name)

        def next_queued(self, labourer_id, limit):
            self.reads += 1
            return self.real.next_queued(labourer_id, limit)

        def count_running(self, labourer_id):
            running = self.real.count_running(labourer_id)
            self.counts += 1
            if self.counts == 2:  # right after the binding count, taken under the dispatch lease
                for ref in self.real.next_queued(labourer_id, 3):
                    s.store.tasks.claim(ref.task_id, ref.attempts, rival, T0)
            return running

    racing = RacingQueries(s.store.queries)
    orchestrator = build_orchestrator(s.config, replace(s.store, queries=racing), invoker=s.invoker,
                                      metrics=StaticMetrics({}).for_tick, clock=FixedClock(T0))
    [record] = orchestrator.tick(T0)
    assert (record.invoked, record.claims_lost, record.stopped_because) == (4, 3, StopReason.DESIRED_REACHED)
    assert list(record.task_ids) == ids[3:7]
    assert racing.reads == 2
    assert s.invoker.per_task().most_common(1)[0][1] == 1


# -- rate limit ---------------------------------------------------------------------------
def test_max_invocations_per_minute_holds_over_a_sliding_window_of_ticks():
    s = build([labourer("w", max_simultaneous_invocations=50, max_invocations_per_minute=5)])
    s.queue("w", 40)
    invoked = {}
    for offset in (0, 10, 20, 30, 40, 50, 60, 65, 70, 120, 121):
        [record] = s.tick_at(T0 + offset)
        invoked[offset] = (record.invoked, record.stopped_because)
    assert invoked[0] == (5, StopReason.RATE_LIMIT)
    assert all(invoked[t] == (0, StopReason.RATE_LIMIT) for t in (10, 20, 30, 40, 50))
    assert invoked[60] == (5, StopReason.RATE_LIMIT)  # the first five left the window at T0 + 60
    assert invoked[65][0] == invoked[70][0] == 0
    assert invoked[120][0] == 5 and invoked[121][0] == 0
    times = [s.store.tasks.get(tid).events[1].at for tid in s.invoker.per_task()]
    for start in times:  # no 60-second window holds more than 5 claims
        assert sum(1 for t in times if start <= t < start + 60) <= 5


def test_one_structured_log_record_per_labourer_per_tick(caplog):
    s = build([labourer("a"), labourer("b", health_metrics=(errors_metric(),))], {"errors": BAD})
    s.queue("a", 2)
    with caplog.at_level(logging.INFO, logger="sosw_core.services.orchestrator"):
        s.orchestrator.tick(T0)
    dispatch = [r for r in caplog.records if r.message == "dispatch"]
    assert sorted(r.labourer_id for r in dispatch) == ["a", "b"]
    b = next(r for r in dispatch if r.labourer_id == "b")
    assert (b.status, b.invoked, b.stopped_because, b.metric_values) == (0, 0, "health", {"errors": BAD})
    a = next(r for r in dispatch if r.labourer_id == "a")
    assert (a.running, a.desired, a.invoked, a.stopped_because) == (0, 10, 2, "queue empty")
    assert type(a.stopped_because) is str  # the log carries the value, not the enum


# -- the tick loop ------------------------------------------------------------------------
def test_run_ticks_every_tick_seconds_until_the_stop_margin():
    s = build([labourer("w", max_simultaneous_invocations=2)],
              orchestrator=OrchestratorConfig(tick_seconds=10, stop_margin_seconds=10))
    s.queue("w", 100)
    clock = s.orchestrator.clock  # the orchestrator's one clock: run reads it once per tick
    context = HarnessContext("orchestrator", clock, 60)
    report = s.orchestrator.run(context, sleep=clock.advance)
    assert report.ticks == 6  # at 60, 50, 40, 30, 20 and 10 seconds left
    assert clock.now() == T0 + 50
    assert report.summary() == {"ticks": 6, "invoked": {"w": 2}, "errors": []}


def test_run_without_a_context_is_one_tick():
    s = build([labourer("w")])
    s.queue("w", 1)
    clock = s.orchestrator.clock
    report = s.orchestrator.run(None, sleep=clock.advance)
    assert (report.ticks, clock.now(), report.summary()["invoked"]) == (1, T0, {"w": 1})

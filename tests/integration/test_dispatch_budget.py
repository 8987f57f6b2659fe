"""Dispatch and scavenging on DynamoDB Local: concurrent orchestrators and scavengers, request budget.

DynamoDB Local comes from the session fixture ``dynamodb_local`` (tests/conftest.py); each test
gets fresh tables through the module's ``tables`` factory.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import pytest

from devtools.metering import RequestMeter
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store, create_tables, delete_tables, open_store
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import Clock, FixedClock, SystemClock
from sosw_core.config import LabourerConfig, SoswConfig
from sosw_core.domain.events import split_worker_event
from sosw_core.domain.task import NewTask, TaskState
from sosw_core.services.orchestrator import Orchestrator
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger
from tests.fakes import FlakyNotifier, RecordingInvoker
from tests.support import alerted, labourer, make_config

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0
LEASE = 60
WAIT = 120.0  # a safety net for waits on other threads, not a speed check: they return at the event


@pytest.fixture
def tables(dynamodb_local) -> Callable[..., tuple[SoswConfig, Store]]:
    """Factory: a config for the given labourers on DynamoDB Local, with fresh tables."""
    made: list[Store] = []

    def make(labourers: list[LabourerConfig]) -> tuple[SoswConfig, Store]:
        config = make_config(dynamodb_local, labourers=labourers)
        store = open_store(config)
        create_tables(store.models)
        made.append(store)
        return config, store

    yield make
    for store in made:
        delete_tables(store.models)


class NoLeases:
    """Dispatch leases that are always granted: what the bound would be without them."""

    def acquire(self, labourer_id: str, owner: str, now: float, seconds: float) -> bool:
        return True

    def release(self, labourer_id: str, owner: str) -> bool:
        return True


def orchestrator(config: SoswConfig, invoker, queries=None, *, leases: bool = True,
                 clock: Clock | None = None) -> Orchestrator:
    """An orchestrator with a store of its own (as a separate Lambda container would have)."""
    store = open_store(config)
    store = replace(store, queries=queries or store.queries, leases=store.leases if leases else NoLeases())
    return build_orchestrator(config, store, invoker=invoker, metrics=StaticMetrics({}).for_tick,
                              clock=clock or FixedClock(T0))


def in_flight(store: Store, labourer_id: str) -> int:
    """INVOKED tasks, read from the table itself (a Scan is strongly consistent per item)."""
    return sum(1 for r in store.models.task.scan() if r.labourer_id == labourer_id
               and r.state == TaskState.INVOKED.value)


def complete_all(store: Store, invoker: RecordingInvoker, now: float, done: set[str]) -> None:
    """Play the workers: complete every invoked task not completed yet."""
    for _, event in list(invoker.calls):
        _, inv = split_worker_event(event)
        if inv.task_id not in done:
            store.tasks.complete(inv.task_id, inv.token, inv.attempt, now)
            done.add(inv.task_id)


def concurrently(*calls: Callable[[], object]) -> list[object]:
    """Start the calls at the same moment in threads; their results (exceptions re-raised)."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - handed back to the test thread, which checks it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT)
        assert not t.is_alive(), "a call did not finish"
    return results


# -- concurrent orchestrators -------------------------------------------------------------
def test_two_concurrent_orchestrators_never_invoke_a_task_twice_and_stay_within_max(tables):
    """Overlapping ticks: the dispatch lease lets one of them claim; in flight never passes max."""
    maximum = 10
    config, store = tables([labourer("w", max_simultaneous_invocations=maximum)])
    store.batch.create_many([NewTask(f"t{i:03d}", "w", {"i": i}) for i in range(200)], T0)
    invoker = RecordingInvoker()
    a, b = orchestrator(config, invoker), orchestrator(config, invoker)
    done: set[str] = set()
    peak = 0
    for rnd in range(25):
        now = T0 + 10 * rnd
        results = concurrently(partial(a.tick, now), partial(b.tick, now))
        assert not any(r[0].error for r in results)
        peak = max(peak, in_flight(store, "w"))
        assert in_flight(store, "w") <= maximum
        complete_all(store, invoker, now + 1, done)
        if len(done) == 200:
            break
    per_task = invoker.per_task()
    assert len(per_task) == 200 and set(per_task.values()) == {1}  # each task invoked exactly once
    print(f"\ntwo overlapping orchestrators, max {maximum}: peak in flight {peak}, "
          f"{rnd + 1} rounds for 200 tasks")


def test_without_dispatch_leases_two_dispatchers_that_both_count_zero_overfill(tables):
    """Why the lease exists: both read ``running = 0`` before either claims -> up to 2 x max.

    (Still no task runs twice: the claim guard holds without the lease.)"""
    maximum = 10
    config, store = tables([labourer("w", max_simultaneous_invocations=maximum)])
    store.batch.create_many([NewTask(f"t{i:03d}", "w", {}) for i in range(100)], T0)
    both_counted = threading.Barrier(2)

    class CountThenWait:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def count_running(self, labourer_id):
            running = self.real.count_running(labourer_id)
            both_counted.wait(timeout=WAIT)
            return running

    invoker = RecordingInvoker()
    a = orchestrator(config, invoker, CountThenWait(open_store(config).queries), leases=False)
    b = orchestrator(config, invoker, CountThenWait(open_store(config).queries), leases=False)
    records = concurrently(lambda: a.tick(T0), lambda: b.tick(T0))
    assert not any(r[0].error for r in records)
    total = sum(r[0].invoked for r in records)
    assert [r[0].running for r in records] == [0, 0]
    assert maximum < total <= 2 * maximum
    assert set(invoker.per_task().values()) == {1}
    assert in_flight(store, "w") == total
    print(f"\nworst-case overlap, max {maximum}: {total} in flight "
          f"(claims lost {sum(r[0].claims_lost for r in records)})")


def test_with_dispatch_leases_the_second_dispatcher_skips_while_the_first_claims(tables):
    maximum = 10
    config, store = tables([labourer("w", max_simultaneous_invocations=maximum)])
    store.batch.create_many([NewTask(f"t{i:03d}", "w", {}) for i in range(100)], T0)
    a_counted, b_done = threading.Event(), threading.Event()

    class CountThenWait:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        calls = 0

        def count_running(self, labourer_id):
            running = self.real.count_running(labourer_id)
            self.calls += 1
            if self.calls == 2:  # the binding count, under the lease: b comes now
                a_counted.set()
                assert b_done.wait(timeout=WAIT), "b's tick never ended"
            return running

    invoker = RecordingInvoker()
    a = orchestrator(config, invoker, CountThenWait(open_store(config).queries))
    b = orchestrator(config, invoker)

    def b_tick():
        assert a_counted.wait(timeout=WAIT), "a never took the lease and counted"
        try:
            return b.tick(T0)
        finally:
            b_done.set()

    [[ra], [rb]] = concurrently(lambda: a.tick(T0), b_tick)
    assert (rb.invoked, rb.stopped_because) == (0, "another orchestrator is dispatching")
    assert ra.invoked == maximum and in_flight(store, "w") == maximum
    [again] = b.tick(T0 + 1)  # the lease was given back: b may dispatch, and finds no room
    assert (again.invoked, again.stopped_because) == (0, "running at maximum")


def test_three_orchestrators_and_hand_offs_never_run_more_than_max(tables):
    """3 orchestrators ticking at once, workers finishing at random and handing off their slot.

    "Running" is what the fake Lambda service sees: from invoke until the worker's work ends
    (before it reports, as a real worker does)."""
    maximum, n = 7, 300
    config, store = tables([labourer("w", max_simultaneous_invocations=maximum)])
    store.batch.create_many([NewTask(f"t{i:03d}", "w", {"i": i}) for i in range(n)], T0)
    rng = random.Random(7)
    gauge = {"running": 0, "peak": 0}
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=32)
    invocations: Counter = Counter()
    filled = threading.Event()  # every slot was running at once

    class LambdaService:
        def invoke(self, function_name, event):
            with lock:
                gauge["running"] += 1
                gauge["peak"] = max(gauge["peak"], gauge["running"])
                invocations[event["task_id"]] += 1
                if gauge["running"] >= maximum:
                    filled.set()
            pool.submit(work, event)

    def work(event):
        time.sleep(0.05 + rng.random() * 0.1)
        # The first workers finish only once every slot has been taken: on a loaded machine a
        # claim can take longer than a task's work, and the slots would never all be contended.
        # If they never fill, the peak assertion below says so (one wait, then no more).
        if not filled.wait(timeout=60):
            filled.set()
        with lock:
            gauge["running"] -= 1
        inv = split_worker_event(event)[1]
        assistant.handle({"action": "mark_task_as_completed", "task_id": inv.task_id,
                          "labourer_id": inv.labourer_id, "attempt": inv.attempt, "token": inv.token})

    service = LambdaService()
    hand_store = open_store(config)
    assistant = build_assistant(config, hand_store, clock=SystemClock(), invoker=service,
                                metrics=StaticMetrics({}).for_tick)
    stop = threading.Event()

    def ticking(orch):
        while not stop.is_set():
            [record] = orch.tick(time.time())
            assert record.error is None, record.error
            time.sleep(0.01)

    orchestrators = [orchestrator(config, service, clock=SystemClock()) for _ in range(3)]
    threads = [threading.Thread(target=ticking, args=(o,)) for o in orchestrators]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300  # ~15 s on a loaded 2-core machine: a guard against a hang
    while time.monotonic() < deadline and store.queries.counts("w").get(TaskState.COMPLETED, 0) < n:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    pool.shutdown(wait=True)
    rows = list(store.models.task.scan())
    assert len(rows) == n and {r.state for r in rows} == {TaskState.COMPLETED.value}
    assert len(invocations) == n and set(invocations.values()) == {1}
    assert gauge["peak"] == maximum  # every slot was taken, never one more
    print(f"\n3 orchestrators + hand-offs, max {maximum}: peak running {gauge['peak']}, {n} tasks once each")


def test_non_overlapping_dispatches_with_settled_counts_never_exceed_max(tables):
    """Two orchestrators in two threads, one tick at a time: in flight is exactly bounded by max."""
    maximum = 8
    config, store = tables([labourer("w", max_simultaneous_invocations=maximum)])
    store.batch.create_many([NewTask(f"t{i:03d}", "w", {}) for i in range(120)], T0)
    invoker = RecordingInvoker()
    one_at_a_time = threading.Lock()
    peaks: list[int] = []
    done: set[str] = set()

    def ticker(orch: Orchestrator) -> None:
        for rnd in range(12):
            with one_at_a_time:
                now = T0 + rnd
                orch.tick(now)
                peaks.append(in_flight(store, "w"))
                if rnd % 2:  # the workers of half the rounds finish
                    complete_all(store, invoker, now, done)

    results = concurrently(lambda: ticker(orchestrator(config, invoker)),
                           lambda: ticker(orchestrator(config, invoker)))
    assert results == [None, None]
    assert max(peaks) == maximum
    assert set(invoker.per_task().values()) == {1}


# -- concurrent scavengers ----------------------------------------------------------------
def test_two_concurrent_scavengers_alert_each_dead_task_exactly_once(tables):
    config, store = tables([labourer("w", max_attempts=1)])
    lab = config.labourer("w")
    notifiers = [MemoryNotifier(), MemoryNotifier()]
    scavengers = [build_scavenger(config, s, notifier=n)
                  for s, n in zip((open_store(config), open_store(config)), notifiers, strict=True)]
    expected: list[str] = []
    for rnd in range(3):
        base = T0 + 1000 * rnd
        ids = [f"r{rnd}-{i:02d}" for i in range(40)]
        store.batch.create_many([NewTask(i, "w", {}) for i in ids], base)
        claimed = [store.tasks.claim(i, 0, lab, base) for i in ids]
        for task in claimed[:15]:  # a third die by a reported failure, the rest by lease expiry
            store.tasks.fail(task.task_id, task.token, 1, lab, base + 1, error_type="E", message="x")
        expected += ids
        reports = concurrently(partial(scavengers[0].sweep, base + LEASE),
                               partial(scavengers[1].sweep, base + LEASE))
        assert not any(r.errors for r in reports)
        assert sum(r.expired for r in reports) == 25  # each lease ended once
    assert alerted(notifiers[0]) + alerted(notifiers[1]) == Counter(expected)
    assert all(r.state == TaskState.DEAD.value for r in store.models.task.scan())
    assert [s.sweep(T0 + 10**5).alerted for s in scavengers] == [(), ()]
    print(f"\ntwo scavengers: {len(expected)} dead tasks, alerts split "
          f"{sum(alerted(notifiers[0]).values())}/{sum(alerted(notifiers[1]).values())}, none twice")


def test_a_scavenger_whose_publish_fails_returns_its_alerts_and_they_go_out_once(tables):
    config, store = tables([labourer("w", max_attempts=1)])
    lab = config.labourer("w")
    failing, healthy = FlakyNotifier(failures=1), MemoryNotifier()
    a_took = threading.Event()

    class TakesFirst:
        """a's task store: b starts sweeping only once a holds an alert. Left to the scheduler,
        b could win every race for the 30 leases and a would have nothing to publish."""

        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def take_alert(self, task_id):
            task = self.real.take_alert(task_id)
            if task is not None:
                a_took.set()
            return task

    def b_sweep():
        assert a_took.wait(timeout=WAIT), "a never took an alert"
        return b.sweep(T0 + LEASE)

    a_store = open_store(config)
    a = build_scavenger(config, replace(a_store, tasks=TakesFirst(a_store.tasks)), notifier=failing)
    b = build_scavenger(config, open_store(config), notifier=healthy)
    ids = [f"t{i:02d}" for i in range(30)]
    store.batch.create_many([NewTask(i, "w", {}) for i in ids], T0)
    for i in ids:
        store.tasks.claim(i, 0, lab, T0)
    results = concurrently(lambda: a.sweep(T0 + LEASE), b_sweep)
    assert isinstance(results[0], ConnectionError)
    b.sweep(T0 + LEASE + 1)  # picks up what a returned
    assert alerted(healthy) + alerted(failing) == Counter(ids)


# -- request budget -----------------------------------------------------------------------
def test_request_budget(tables):
    config, store = tables([labourer("w", max_simultaneous_invocations=25)])
    invoker = RecordingInvoker()
    orch = build_orchestrator(config, store, invoker=invoker, metrics=StaticMetrics({}).for_tick,
                              clock=FixedClock(T0))
    scavenger = build_scavenger(config, store, notifier=MemoryNotifier())

    with RequestMeter(store.models) as idle:
        orch.tick(T0)
        scavenger.sweep(T0)
    print(f"\nidle labourer, one orchestrator tick + one scavenger sweep: {dict(idle.requests)}")
    assert idle.requests == Counter({"Query": 2})  # the queue read (empty: no lease, no count), due

    store.batch.create_many([NewTask(f"c{i}", "w", {}) for i in range(7)], T0)
    with RequestMeter(store.models) as claiming:
        [record] = orch.tick(T0 + 1)
    print(f"claiming 7 tasks: {dict(claiming.requests)} (queue, count, lease, count under it)")
    assert record.invoked == 7
    # 7 claims + the lease taken and given back
    assert claiming.requests == Counter({"Query": 3, "UpdateItem": 9})
    done: set[str] = set()
    complete_all(store, invoker, T0 + 2, done)

    n = 25
    with RequestMeter(store.models) as life:
        store.batch.create_many([NewTask(f"l{i:02d}", "w", {}) for i in range(n)], T0 + 3)
        [record] = orch.tick(T0 + 4)
        complete_all(store, invoker, T0 + 5, done)
    per_task = life.writes / n
    print(f"{n} tasks, create (BatchCreator) + claim + complete: {dict(life.requests)}; "
          f"{per_task:.2f} write requests per task")
    assert record.invoked == n and len(done) == n + 7
    assert life.requests["BatchWriteItem"] == 1
    assert life.requests["UpdateItem"] == 2 * n + 2  # one claim and one completion each; the lease
    assert life.writes == 2 * n + 3
    assert per_task <= 3

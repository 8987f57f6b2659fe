"""The whole loop on DynamoDB Local: 2,000 tasks, 3 labourers, workers that misbehave.

Everything asserted here is read back from the table rows and from the workers' own records
(how often each task really ran, how many ran at once), not from what the code believes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store
from sosw_core.config import Backoff, OrchestratorConfig
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.local.runtime import LocalRuntime
from sosw_core.services.worker import Worker
from tests.support import labourer, make_config

pytestmark = pytest.mark.integration

LEASE = 1.5  # generous: on a loaded 2-core machine a 5 ms task can still take a while
BACKOFF = Backoff(base_seconds=0.1, factor=2, cap_seconds=0.5, jitter=0.5)
MAX_ATTEMPTS = 3


def behaviour(task_index: int) -> str:
    """60 % succeed, 20 % fail once, 10 % always fail, 10 % hang until killed, once."""
    return {0: "ok", 1: "ok", 2: "ok", 3: "ok", 4: "ok", 5: "ok", 6: "fail_once", 7: "fail_once",
            8: "always_fail", 9: "hang_once"}[task_index % 10]


class KilledAtTimeout(BaseException):  # noqa: N818 - what Lambda does to a hung function
    """Lambda stops a function at its timeout: nothing after that line runs, nothing is reported."""


class Scripted(Worker):
    """Does what its payload says; records every run in the worker's own ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: Counter[str] = Counter()
        self._lock = threading.Lock()

    def process(self, payload):
        task_id = self.invocation.task_id
        with self._lock:
            self.runs[task_id] += 1
        kind, attempt = payload["kind"], self.invocation.attempt
        if kind == "always_fail" or (kind == "fail_once" and attempt == 1):
            raise RuntimeError(f"{kind} on attempt {attempt}")
        if kind == "hang_once" and attempt == 1:
            while self.remaining_time_ms() > 0:  # hangs until Lambda's timeout (= the lease) kills it
                time.sleep(0.01)
            raise KilledAtTimeout(task_id)
        else:
            time.sleep(0.005)
        return {"done-by": attempt}


@pytest.fixture
def deployment(dynamodb_local):
    labs = [labourer(name, max_simultaneous_invocations=cap, max_duration_seconds=LEASE,
                     max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)
            for name, cap in (("five", 5), ("ten", 10), ("twenty", 20))]
    config = make_config(dynamodb_local, labs, orchestrator=OrchestratorConfig(tick_seconds=0.2))
    store = open_store(config)
    create_tables(store.models)
    yield config, store
    delete_tables(store.models)


def test_two_thousand_tasks_end_completed_or_dead_exactly_once(deployment):
    config, store = deployment
    sizes = {"five": 500, "ten": 700, "twenty": 800}
    expected: dict[str, str] = {}
    now = time.time()
    for lab_id, n in sizes.items():
        tasks = [NewTask(f"{lab_id}-{i:04d}", lab_id, {"kind": behaviour(i)}) for i in range(n)]
        expected.update({t.task_id: t.payload["kind"] for t in tasks})
        store.batch.create_many(tasks, now)
    workers = {lab_id: Scripted() for lab_id in sizes}
    runtime = LocalRuntime(config, store, workers, tick_seconds=0.2, sweep_seconds=0.2).start()
    deadline = time.monotonic() + 480  # 75-100 s on a loaded 2-core machine: a guard against a hang
    closed = False
    try:
        while not closed and time.monotonic() < deadline:
            counts = {lab: store.queries.counts(lab) for lab in sizes}
            closed = all(c[TaskState.COMPLETED] + c[TaskState.DEAD] == sizes[lab] for lab, c in counts.items())
            if not closed:
                time.sleep(0.5)
    finally:
        runtime.stop()
    assert closed, f"tasks still open after 480 s: {counts}"

    rows = {r.task_id: r for r in store.models.task.scan()}
    assert len(rows) == 2000  # nothing lost, nothing created twice
    final = Counter(r.state for r in rows.values())
    always_fail = sum(1 for k in expected.values() if k == "always_fail")
    assert final == {"completed": 2000 - always_fail, "dead": always_fail}
    for task_id, row in rows.items():
        kind = expected[task_id]
        events = [e["event"] for e in (row.events or [])]
        closing = events.count(EventKind.COMPLETED.value) + events.count(EventKind.DEAD.value)
        assert closing == 1, (task_id, events)  # ended exactly once
        assert row.state == ("dead" if kind == "always_fail" else "completed"), (task_id, events)

    runs = Counter()
    for worker in workers.values():
        runs.update(worker.runs)
    for task_id, kind in expected.items():
        ran = runs[task_id]
        if kind == "ok":
            assert ran == 1, task_id
        elif kind == "fail_once":
            assert ran == 2, task_id
        elif kind == "always_fail":
            assert ran == MAX_ATTEMPTS, task_id
        else:  # hang_once: killed once, expired by the scavenger, retried once
            assert ran == 2, task_id

    for lab in config.labourers:  # observed inside the workers, never above the limit
        assert 0 < runtime.gauge.peak[lab.id] <= lab.max_simultaneous_invocations, runtime.gauge.peak

    alerted = Counter(a.task_id for a in runtime.notifier.alerts)
    assert set(alerted) == {t for t, k in expected.items() if k == "always_fail"}
    assert max(alerted.values()) == 1
    assert runtime.errors == [] and runtime.invoker.errors == 0
    hung = [t for t, k in expected.items() if k == "hang_once"]
    assert all(rows[t].error_type is None or rows[t].state == "completed" for t in hung)
    assert all("expired" in [e["event"] for e in rows[t].events] for t in hung)

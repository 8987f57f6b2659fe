"""The essentials' metrics on moto: EMF lines parsed back and checked against the table rows,
and what they cost in DynamoDB requests (measured at the botocore layer).
"""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter
from typing import Any

import pytest
from moto import mock_aws

from devtools.metering import RequestMeter
from sosw_core.adapters import metrics
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store, create_tables, open_store
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import FixedClock
from sosw_core.config import OrchestratorConfig, SoswConfig
from sosw_core.domain.events import Action, Report, split_worker_event, worker_event
from sosw_core.domain.task import NewTask, TaskState
from sosw_core.services.metered import MeteredOrchestrator, MeteredScavenger, log_report_metrics
from sosw_core.services.orchestrator import Orchestrator
from sosw_core.testing import HarnessContext
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger
from tests.fakes import FlakyNotifier, RecordingInvoker
from tests.support import emf_values, labourer, make_config

T0 = 1_700_000_000.0
CREATED = T0 - 100  # every task became runnable 100 s before the first tick
TICKS = OrchestratorConfig(tick_seconds=10, stop_margin_seconds=10)


@pytest.fixture(autouse=True)
def aws():
    with mock_aws():
        yield


class StepTimer:
    """A monotonic timer that advances 0.25 s per reading (durations without the real clock)."""

    def __init__(self) -> None:
        self.calls = itertools.count()

    def __call__(self) -> float:
        return next(self.calls) * 0.25


def setup(labourers, tasks: dict[str, int], **config_kwargs) -> tuple[SoswConfig, Store]:
    config = make_config(None, labourers=labourers, **config_kwargs)
    store = open_store(config)
    create_tables(store.models)
    for labourer_id, n in tasks.items():
        store.batch.create_many([NewTask(f"{labourer_id}-{i:03d}", labourer_id, {}) for i in range(n)], CREATED)
    return config, store


def orchestrator(config: SoswConfig, store: Store, invoker=None, clock=None) -> Orchestrator:
    return build_orchestrator(config, store, invoker=invoker or RecordingInvoker(),
                              metrics=StaticMetrics({}).for_tick, clock=clock or FixedClock(T0))


def parse(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def states(store: Store, labourer_id: str) -> Counter:
    return Counter(r.state for r in store.models.task.scan() if r.labourer_id == labourer_id)


# -- Orchestrator --------------------------------------------------------------------------------
def test_orchestrator_metrics_match_the_rows():
    config, store = setup([labourer("busy", max_simultaneous_invocations=5),
                           labourer("drained", max_simultaneous_invocations=10), labourer("idle")],
                          {"busy": 12, "drained": 3}, orchestrator=TICKS)
    stream = io.StringIO()
    clock = FixedClock(T0)
    metered = MeteredOrchestrator(orchestrator(config, store, clock=clock), store.queries.queue_depth_page,
                                  timer=StepTimer(), stream=stream)
    report = metered.run(HarnessContext("orchestrator", clock, 40), sleep=clock.advance)
    assert report.ticks == 4
    lines = parse(stream)
    busy = {"Labourer": "busy"}
    # first tick: 5 of 12 invoked, the queue read did not reach the end: one COUNT, 7 left
    assert emf_values(lines, metrics.QUEUED, **busy) == [7] == [states(store, "busy")[TaskState.QUEUED]]
    assert emf_values(lines, metrics.INVOKED, **busy) == [5, 0, 0, 0]
    assert emf_values(lines, metrics.RUNNING, **busy) == [5, 5, 5, 5] and states(store, "busy")["invoked"] == 5
    assert emf_values(lines, metrics.DISPATCH_LATENCY, **busy) == [[100_000.0] * 5]  # ms since runnable
    # drained: the whole queue was seen, so depth 0 is known without a request, at every tick
    assert emf_values(lines, metrics.QUEUED, Labourer="drained") == [0, 0, 0, 0]
    assert emf_values(lines, metrics.INVOKED, Labourer="drained") == [3, 0, 0, 0]
    assert states(store, "drained") == Counter({"invoked": 3})
    assert emf_values(lines, metrics.QUEUED, Labourer="idle") == [0, 0, 0, 0]
    assert emf_values(lines, metrics.RUNNING, Labourer="idle") == []  # not read for an empty queue
    assert emf_values(lines, metrics.TICK_DURATION, Component="orchestrator") == [0.25] * 4
    assert emf_values(lines, metrics.ERRORS) == [0] * 4


def test_queue_depth_costs_one_request_per_busy_labourer_per_run_and_none_when_idle():
    """Twin tables, same tasks: metered run minus plain run = one Query per busy labourer."""
    labourers = [labourer(f"busy{i}", max_simultaneous_invocations=2) for i in range(3)] + \
                [labourer(f"idle{i}") for i in range(5)]
    tasks = {f"busy{i}": 10 for i in range(3)}
    requests = {}
    for kind in ("plain", "metered"):
        config, store = setup(labourers, tasks, orchestrator=TICKS)
        clock = FixedClock(T0)
        runner = orchestrator(config, store, clock=clock)
        if kind == "metered":
            runner = MeteredOrchestrator(runner, store.queries.queue_depth_page, stream=io.StringIO())
        with RequestMeter(store.models) as meter:
            assert runner.run(HarnessContext("orchestrator", clock, 40), sleep=clock.advance).ticks == 4
            requests[kind] = Counter(meter.requests)
    extra = requests["metered"] - requests["plain"]
    assert extra == Counter({"Query": 3})
    assert not requests["plain"] - requests["metered"]


def test_idle_labourers_cost_no_more_requests_per_pass_with_metrics():
    """The benchmark's idle figure: one orchestrator tick + one scavenger sweep, 20 empty labourers."""
    labourers = [labourer(f"w{i:02d}") for i in range(20)]
    config, store = setup(labourers, {})
    with RequestMeter(store.models) as meter:
        MeteredOrchestrator(orchestrator(config, store), store.queries.queue_depth_page,
                            stream=io.StringIO()).tick(T0)
        MeteredScavenger(build_scavenger(config, store, notifier=MemoryNotifier()),
                         stream=io.StringIO()).sweep(T0)
        metered = meter.total
        meter.reset()
        orchestrator(config, store).tick(T0)
        build_scavenger(config, store, notifier=MemoryNotifier()).sweep(T0)
        plain = meter.total
    assert metered == plain
    assert metered / len(labourers) <= 3
    print(f"\nidle labourer, orchestrator tick + scavenger sweep: {metered / len(labourers):.2f} requests "
          f"with metrics, {plain / len(labourers):.2f} without")


class BrokenInvoker(RecordingInvoker):
    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        if function_name == "bad":
            raise RuntimeError("socket closed")  # not an InvokeError: the dispatch records an error
        super().invoke(function_name, event)


class BrokenDepth:
    def __call__(self, labourer_id: str) -> tuple[int, bool]:
        raise ConnectionError("DynamoDB unreachable")


def test_dispatch_and_depth_errors_are_counted_and_rolled_up_for_the_alarm():
    config, store = setup([labourer("bad"), labourer("good", max_simultaneous_invocations=1)],
                          {"bad": 2, "good": 3})
    stream = io.StringIO()
    metered = MeteredOrchestrator(orchestrator(config, store, BrokenInvoker()), BrokenDepth(), stream=stream)
    metered.run(None)
    lines = parse(stream)
    assert emf_values(lines, metrics.ERRORS) == [3]  # bad's dispatch, and both depth reads
    assert emf_values(lines, metrics.ERRORS, Component="orchestrator") == [3]
    assert emf_values(lines, metrics.INVOKED, Labourer="good") == [1]  # the others went on
    assert states(store, "good") == Counter({"invoked": 1, "queued": 2})
    assert emf_values(lines, metrics.QUEUED, Labourer="good") == []  # unknown: not guessed


def test_invoke_refusals_release_the_task_and_are_essential_errors():
    # a refused invoke moves no task metric (the task is back in the queue): counted as an error,
    # so that a labourer Lambda always refuses (outside LabourerFunctionArns) raises the alarm
    config, store = setup([labourer("w")], {"w": 2})
    stream = io.StringIO()
    metered = MeteredOrchestrator(orchestrator(config, store, RecordingInvoker(failing=("w",))),
                                  store.queries.queue_depth_page, stream=stream)
    metered.run(None)
    lines = parse(stream)
    assert emf_values(lines, metrics.ERRORS) == [1]
    assert emf_values(lines, metrics.INVOKED, Labourer="w") == [0]
    assert emf_values(lines, metrics.QUEUED, Labourer="w") == [2] == [states(store, "w")["queued"]]


# -- Scavenger -----------------------------------------------------------------------------------
def test_scavenger_metrics_match_the_rows():
    config, store = setup([labourer("retry", max_attempts=3), labourer("once", max_attempts=1), labourer("idle")],
                          {"retry": 2, "once": 1})
    for lab in ("retry", "once"):
        for ref in store.queries.next_queued(lab, 10):
            assert store.tasks.claim(ref.task_id, ref.attempts, config.labourer(lab), T0)
    notifier = MemoryNotifier()
    stream = io.StringIO()
    scavenger = MeteredScavenger(build_scavenger(config, store, notifier=notifier, clock=FixedClock(T0 + 61)),
                                 timer=StepTimer(), stream=stream)
    [report] = scavenger.run(None)  # every lease (60 s) has run out
    lines = parse(stream)
    assert emf_values(lines, metrics.FAILED, Labourer="retry") == [2] == [states(store, "retry")["retrying"]]
    assert emf_values(lines, metrics.DEAD, Labourer="retry") == [0]
    assert emf_values(lines, metrics.DEAD, Labourer="once") == [1] == [states(store, "once")["dead"]]
    assert emf_values(lines, metrics.DEAD) == [0, 1]  # the roll-up the alarm watches
    assert emf_values(lines, metrics.FAILED, Labourer="idle") == []
    assert emf_values(lines, metrics.TICK_DURATION, Component="scavenger") == [0.25]
    assert emf_values(lines, metrics.ERRORS, Component="scavenger") == [0]
    assert [a.task_id for a in notifier.alerts] == ["once-000"] and report.killed == 1


def test_a_failed_alert_publish_is_an_error_metric_and_still_raised():
    config, store = setup([labourer("once", max_attempts=1)], {"once": 1})
    [ref] = store.queries.next_queued("once", 1)
    store.tasks.claim(ref.task_id, ref.attempts, config.labourer("once"), T0)
    stream = io.StringIO()
    scavenger = MeteredScavenger(build_scavenger(config, store, notifier=FlakyNotifier(failures=1)), stream=stream)
    with pytest.raises(ConnectionError):
        scavenger.sweep(T0 + 61)
    assert emf_values(parse(stream), metrics.ERRORS) == [1]


# -- WorkerAssistant -----------------------------------------------------------------------------
def test_report_metrics_count_each_applied_change_once():
    config, store = setup([labourer("w", max_attempts=2)], {"w": 2})
    lab = config.labourer("w")
    invoked = [store.tasks.claim(r.task_id, r.attempts, lab, T0) for r in store.queries.next_queued("w", 2)]
    assistant = build_assistant(config, store, clock=FixedClock(T0 + 5), handoff=False)
    stream = io.StringIO()

    def report(task, action: Action) -> dict[str, Any]:
        _, inv = split_worker_event(worker_event(task))
        event = Report(action, inv, error_type="Boom", error_message="no").to_event()
        return log_report_metrics(assistant.handle(event), T0 + 5, stream)

    done, failing = invoked
    assert report(done, Action.COMPLETED)["outcome"] == "applied"
    assert report(done, Action.COMPLETED)["outcome"] == "duplicate"  # counted once
    assert report(failing, Action.FAILED)["state"] == "retrying"
    lines = parse(stream)
    assert emf_values(lines, metrics.COMPLETED, Labourer="w") == [1] == [states(store, "w")["completed"]]
    assert emf_values(lines, metrics.FAILED, Labourer="w") == [1] == [states(store, "w")["retrying"]]
    store.tasks.requeue(failing.task_id, "w", T0 + 1000, T0 + 1000, attempt=1)
    [ref] = store.queries.next_queued("w", 1)
    second = store.tasks.claim(ref.task_id, ref.attempts, lab, T0 + 1000)
    assert report(second, Action.FAILED)["state"] == "dead"
    lines = parse(stream)
    assert emf_values(lines, metrics.DEAD) == [1] == [states(store, "w")["dead"]]

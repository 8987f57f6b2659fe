"""Fuzzing the WorkerAssistant and the Worker on moto: forged, broken and junk events.

Every generated event is refused with a clear error (InvalidEvent naming its field,
UnknownLabourer, TaskNotFound, ReportRejected) or ignored as stale/duplicate, and no row of
the tasks table changes (every attribute compared by a consistent Scan before and after).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from sosw_core.clock import FixedClock
from sosw_core.domain.events import ENVELOPE, Action, worker_event
from sosw_core.errors import InvalidEvent, ReportRejected, TaskNotFound, UnknownLabourer
from sosw_core.services.assistant import WorkerAssistant
from sosw_core.services.worker import DirectReporter, Worker
from tests.fuzz.events import (
    as_wire,
    broken_worker_event,
    decisive_report_break,
    genuine_report,
    junk_events,
    noise,
    storable,
    unstorable,
)
from tests.fuzz.jobs import chance
from tests.fuzz.profiles import examples
from tests.fuzz.world import T0, snapshot, tasks_in_every_state

REFUSALS = (InvalidEvent, UnknownLabourer, TaskNotFound, ReportRejected)
IGNORED = ("stale", "duplicate")


@pytest.fixture(scope="module")
def world(moto_world):
    config, store = moto_world
    tasks = tasks_in_every_state(store, config, "fuzz")
    assistant = WorkerAssistant(store.tasks, config, FixedClock(T0 + 30))
    labourers = tuple(lab.id for lab in config.labourers)
    return store, tasks, assistant, labourers


def check_refusal(exc: Exception) -> None:
    """A clear error: an InvalidEvent names its field; the others name the task or labourer."""
    message = str(exc)
    assert message.strip()
    if isinstance(exc, InvalidEvent):
        assert exc.field and exc.rule and exc.field in message
    elif isinstance(exc, TaskNotFound | ReportRejected):
        assert repr(exc.task_id) in message
    else:
        assert "labourer" in message


def handle_and_compare(store, call, plain: bool = False) -> str:
    """Run ``call``; its refusal or ignored outcome, checked to have changed no row.

    ``plain``: a Worker event without an envelope, which is processed and reports nothing."""
    before = snapshot(store)
    try:
        response = call()
    except REFUSALS as exc:
        check_refusal(exc)
        outcome = type(exc).__name__
    else:
        if plain:
            outcome = "plain"
        else:
            assert isinstance(response, dict) and response["outcome"] in IGNORED, response
            outcome = response["outcome"]
    assert snapshot(store) == before
    return outcome


@examples(ci=80, chaos=1_000)
@given(data=st.data())
def test_forged_and_broken_reports_change_nothing(world, data):
    forged_report_case(world, data)


def forged_report_case(world, data) -> None:
    """One forged, broken or junk report against the world's tasks: refused, nothing changed."""
    store, tasks, assistant, labourers = world
    if data.draw(chance(10)):
        raw = data.draw(junk_events)
        event("junk")
    else:
        name = data.draw(st.sampled_from(sorted(tasks)))
        task = tasks[name]
        report = genuine_report(task, data.draw(st.sampled_from(list(Action))))
        others = [t for t in tasks.values() if t.task_id != task.task_id]
        kind = data.draw(decisive_report_break(report, task, others, labourers))
        data.draw(noise(report, kind))
        raw = as_wire(report, data.draw(st.booleans()))
        event(f"break: {kind}")
    event(f"outcome: {handle_and_compare(store, lambda: assistant.handle(copy.deepcopy(raw)))}")


class Echo(Worker):
    """Returns what the test put in ``returns``; counts the payloads it processed."""

    def __init__(self, reporter):
        super().__init__(reporter)
        self.returns: Any = None
        self.processed = 0

    def process(self, payload):
        self.processed += 1
        return self.returns


@examples(ci=50, chaos=1_000)
@given(data=st.data())
def test_broken_worker_events_change_nothing(world, data):
    broken_worker_case(world, data)


def broken_worker_case(world, data) -> None:
    """One broken worker event run by a Worker reporting to the assistant: nothing changed."""
    store, tasks, assistant, labourers = world
    worker = Echo(DirectReporter(assistant))
    worker.returns = data.draw(st.none() | storable | unstorable | st.integers() | st.lists(st.integers()))
    if data.draw(chance(10)):
        raw = data.draw(junk_events)
        event("junk")
    else:
        task = tasks[data.draw(st.sampled_from(sorted(tasks)))]
        raw = json.loads(json.dumps(worker_event(task)))
        others = [t for t in tasks.values() if t.task_id != task.task_id]
        event(f"break: {data.draw(broken_worker_event(raw, task, others, labourers))}")
    plain = isinstance(raw, dict) and raw.get(ENVELOPE) is None
    outcome = handle_and_compare(store, lambda: worker(copy.deepcopy(raw)), plain)
    event(f"outcome: {outcome}")
    if outcome == "InvalidEvent" and worker.processed == 0:
        event("refused before process")


def test_a_genuine_report_does_change_the_row(world):
    """The comparison above can fail: the same check sees a real report's change."""
    store, tasks, assistant, _ = world
    invoked = tasks["invoked"]
    with pytest.raises(AssertionError):
        handle_and_compare(store, lambda: assistant.handle(genuine_report(invoked, Action.HEARTBEAT)))

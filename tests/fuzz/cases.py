"""The fuzzed cases against the WorkerAssistant and the Worker, shared by the moto tests
(``test_fuzz_events.py``) and the DynamoDB Local ones (``test_fuzz_events_local.py``).

A case draws one forged, broken or junk event, runs it, and checks that it was refused with a
clear error (InvalidEvent naming its field, UnknownLabourer, TaskNotFound, ReportRejected) or
ignored as stale/duplicate, and that no row of the tasks table changed (every attribute
compared by a consistent Scan before and after).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from sosw_core.domain.events import ENVELOPE, Action, worker_event
from sosw_core.errors import InvalidEvent, ReportRejected, TaskNotFound, UnknownLabourer
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
from tests.fuzz.world import snapshot

REFUSALS = (InvalidEvent, UnknownLabourer, TaskNotFound, ReportRejected)
IGNORED = ("stale", "duplicate", "refused")  # refused: a report without a token is answered, not raised


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

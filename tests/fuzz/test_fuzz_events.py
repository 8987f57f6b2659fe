"""Fuzzing the WorkerAssistant and the Worker on moto: forged, broken and junk events
(the cases are in :mod:`tests.fuzz.cases`).

Every generated event is refused with a clear error (InvalidEvent naming its field,
UnknownLabourer, TaskNotFound, ReportRejected) or ignored as stale/duplicate, and no row of
the tasks table changes (every attribute compared by a consistent Scan before and after).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sosw_core.clock import FixedClock
from sosw_core.domain.events import Action
from sosw_core.wiring import build_assistant
from tests.fuzz.cases import broken_worker_case, forged_report_case, handle_and_compare
from tests.fuzz.events import genuine_report
from tests.fuzz.profiles import examples
from tests.fuzz.world import T0, tasks_in_every_state


@pytest.fixture(scope="module")
def world(moto_world):
    config, store = moto_world
    tasks = tasks_in_every_state(store, config, "fuzz")
    assistant = build_assistant(config, store, clock=FixedClock(T0 + 30), handoff=False)
    labourers = tuple(lab.id for lab in config.labourers)
    return store, tasks, assistant, labourers


@examples(ci=80, chaos=1_000)
@given(data=st.data())
def test_forged_and_broken_reports_change_nothing(world, data):
    forged_report_case(world, data)


@examples(ci=50, chaos=1_000)
@given(data=st.data())
def test_broken_worker_events_change_nothing(world, data):
    broken_worker_case(world, data)


def test_a_genuine_report_does_change_the_row(world):
    """The comparison above can fail: the same check sees a real report's change."""
    store, tasks, assistant, _ = world
    invoked = tasks["invoked"]
    with pytest.raises(AssertionError):
        handle_and_compare(store, lambda: assistant.handle(genuine_report(invoked, Action.HEARTBEAT)))

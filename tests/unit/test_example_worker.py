"""The example worker, tested the way a user tests theirs: with sosw_core.testing's fixtures
(its pytest plugin is registered in tests/conftest.py) on the default backend, memory.

Each test runs the worker on a task really created and claimed in the store and reads back the
row the WorkerAssistant wrote. tests/integration/test_testing_kit.py runs the example worker on
moto and DynamoDB Local too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sosw_core.config import Backoff, LabourerConfig
from sosw_core.domain.events import Action
from sosw_core.domain.task import EventKind, TaskState
from sosw_core.errors import AttemptSuperseded
from workers.example_worker.handler import OutOfTime, SumWorker

LEASE = 60


@pytest.fixture
def sosw_labourers():
    """Our labourer as it would be configured: a 60 s lease, 3 attempts, 5 s first backoff."""
    return [LabourerConfig(id="sum", max_duration_seconds=LEASE, max_attempts=3,
                           backoff=Backoff(base_seconds=5, factor=2, cap_seconds=60, jitter=0))]


def kinds(run):
    return [event.kind for event in run.task.events]


def test_sums_the_numbers_and_reports_the_completion(sosw_harness):
    run = sosw_harness.run(SumWorker, {"numbers": [1, 2, 3.5]})
    run.assert_completed({"sum": 6.5})
    assert run.stats == {"numbers-summed": 3}
    assert run.task.attempts == 1 and run.task.error_type is None
    assert [r.action for r in run.reports] == [Action.COMPLETED]
    assert kinds(run) == [EventKind.CREATED, EventKind.CLAIMED, EventKind.COMPLETED]


def test_an_empty_list_sums_to_zero(sosw_harness):
    sosw_harness.run(SumWorker, {"numbers": []}).assert_completed({"sum": 0})


def test_keys_it_does_not_know_travel_with_the_payload_and_are_ignored(sosw_harness):
    run = sosw_harness.run(SumWorker, {"numbers": [2, 2], "store": "s1", "date_list": ["2026-11-01"]})
    run.assert_completed({"sum": 4})
    assert run.event["store"] == "s1" and run.task.payload["date_list"] == ["2026-11-01"]


@pytest.mark.parametrize(("payload", "error_type", "message"), [
    ({}, "ValueError", "payload 'numbers' must be a list, not NoneType"),
    ({"numbers": "1,2"}, "ValueError", "payload 'numbers' must be a list, not str"),
    ({"numbers": [1, "2", None]}, "TypeError", "payload 'numbers' holds 2 values that are not numbers"),
    ({"numbers": [1, True]}, "TypeError", "payload 'numbers' holds 1 values that are not numbers"),
])
def test_a_bad_payload_is_a_reported_failure_naming_the_field(sosw_harness, payload, error_type, message):
    run = sosw_harness.run(SumWorker, payload)
    run.assert_failed(error_type, state=TaskState.RETRYING)
    assert run.raised is None and run.response["outcome"] == "applied"  # reported, not raised
    assert run.error_message.split("\n", 1)[0] == message
    assert run.result is None


def test_a_bad_payload_fails_every_attempt_and_ends_dead(sosw_harness):
    run = sosw_harness.run(SumWorker, {"numbers": "oops"})
    seen = [(run.attempt, run.state)]
    while run.state is TaskState.RETRYING:
        run = sosw_harness.retry(SumWorker, run)
        seen.append((run.attempt, run.state))
    assert seen == [(1, TaskState.RETRYING), (2, TaskState.RETRYING), (3, TaskState.DEAD)]
    assert run.task.attempts == 3 and run.error_type == "ValueError"


def test_out_of_time_is_reported_and_the_retry_completes(sosw_harness):
    worker = SumWorker(heartbeat_every=2, min_remaining_ms=5_000)
    first = sosw_harness.run(worker, {"numbers": [1, 2, 3, 4, 5]}, timeout_seconds=3)
    first.assert_failed(OutOfTime.__name__, state=TaskState.RETRYING)
    assert first.error_message.startswith("2 of 5 numbers summed with 3000 ms left")
    assert first.heartbeats == ()  # it gave up before extending the lease
    due = first.task.deadline_at
    assert due == pytest.approx(sosw_harness.clock.now() + 5)  # the first backoff

    second = sosw_harness.retry(worker, first)  # waits out the backoff; a full minute this time
    second.assert_completed({"sum": 15})
    assert second.attempt == 2 and sosw_harness.clock.now() == pytest.approx(due)
    assert [e.kind for e in second.task.events if e.attempt == 2] == [
        EventKind.CLAIMED, EventKind.HEARTBEAT, EventKind.HEARTBEAT, EventKind.COMPLETED]


def test_heartbeats_keep_a_long_run_alive(sosw_harness):
    clock = sosw_harness.clock
    start = clock.now()

    class SlowSum(SumWorker):
        def keep_going(self, done, total):
            clock.advance(40)  # each chunk of work takes 40 s: two chunks outlast a 60 s lease
            super().keep_going(done, total)

    # A Lambda timeout of 15 minutes, a lease of one: the Worker base class extends the lease at
    # the start (the timeout outlasts it), then the worker's heartbeats keep it ahead of the work.
    run = sosw_harness.run(SlowSum(heartbeat_every=2), {"numbers": [1, 2, 3, 4, 5]}, timeout_seconds=900)
    run.assert_completed({"sum": 15})
    assert [r.outcome for r in run.heartbeats] == ["applied", "applied", "applied"]
    beats = [e.at - start for e in run.task.events if e.kind is EventKind.HEARTBEAT]
    assert beats == pytest.approx([0, 40, 80])  # the last came after the first lease's end (60 s)


def test_it_stops_when_its_attempt_is_no_longer_current(sosw_harness):
    harness = sosw_harness

    class Overtaken(SumWorker):
        def keep_going(self, done, total):
            harness.expire(self.invocation.task_id)  # the lease runs out mid-run: the scavenger retries it
            super().keep_going(done, total)

    run = harness.run(Overtaken(heartbeat_every=2), {"numbers": [1, 2, 3]}, timeout_seconds=900)
    assert [r.outcome for r in run.heartbeats] == ["applied", "stale"]  # the start's, then the worker's
    assert run.reported is Action.FAILED and run.outcome == "stale"  # this attempt was already counted
    assert run.state is TaskState.RETRYING and run.error_type == "LeaseExpired"
    assert run.task.attempts == 1
    assert run.final_report.report.error_type == AttemptSuperseded.__name__  # what it said, though ignored

    harness.retry(SumWorker, run).assert_completed({"sum": 6})


def test_a_duplicate_delivery_changes_nothing(sosw_harness):
    first = sosw_harness.run(SumWorker, {"numbers": [4, 5]})
    again = sosw_harness.redeliver(SumWorker, first)  # Lambda delivered the same event twice
    assert again.reported is Action.COMPLETED and again.outcome == "duplicate"
    assert again.task == first.task  # not one attribute of the row changed


def test_a_completion_after_the_lease_ran_out_still_closes_the_task(sosw_harness):
    harness = sosw_harness

    class LateReport(SumWorker):
        def process(self, payload):
            result = super().process(payload)
            harness.expire(self.invocation.task_id)  # the lease ran out before the report went out
            return result

    late = harness.run(LateReport, {"numbers": [1, 1]})
    late.assert_completed({"sum": 2})
    assert late.task.attempts == 1  # and it is never dispatched again


def test_a_run_that_starts_after_its_lease_ran_out_does_nothing(sosw_harness):
    task = sosw_harness.create({"numbers": [1, 1]})
    event = sosw_harness.dispatch(task.task_id)
    assert sosw_harness.expire(task.task_id).state is TaskState.RETRYING  # e.g. queued in Lambda
    late = sosw_harness.deliver(SumWorker, event)
    assert [r.outcome for r in late.reports] == ["stale"]  # its start-up heartbeat; no work, no report
    assert late.response == {"task_id": task.task_id, "outcome": "stale", "ran": False}
    assert late.task.state is TaskState.RETRYING and late.task.attempts == 1
    sosw_harness.retry(SumWorker, late).assert_completed({"sum": 2})


def test_plain_lambda_mode_needs_no_harness():
    assert SumWorker.handler({"numbers": [1, 2]}, None) == {"sum": 3}
    with pytest.raises(TypeError, match="not numbers"):
        SumWorker()({"numbers": ["a"]}, None)


def test_heartbeat_every_must_be_positive():
    with pytest.raises(ValueError, match="heartbeat_every must be at least 1"):
        SumWorker(heartbeat_every=0)


# -- docs/writing-a-worker.md shows this worker and these tests as they are ------------------
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-worker.md"
MARKER = re.compile(r"^<!-- (?P<kind>include|excerpt|run): (?P<what>[^ ]+).* -->$")


def marked_blocks(text: str) -> list[tuple[str, str, str]]:
    """``(kind, path or language, code)`` for each fenced block right after a marker comment."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        mark = MARKER.match(line)
        if mark is None:
            continue
        fence = lines[index + 1]
        assert fence.startswith("```"), f"{GUIDE.name}:{index + 2}: a marker must precede a fenced block"
        end = lines.index("```", index + 2)
        found.append((mark["kind"], mark["what"], "\n".join(lines[index + 2:end]) + "\n"))
    return found


def test_the_guide_shows_the_worker_and_its_tests_verbatim():
    blocks = marked_blocks(GUIDE.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in blocks].count("include") == 1 and len(blocks) >= 4
    root = GUIDE.parents[1]
    for kind, what, code in blocks:
        if kind == "include":
            assert code == (root / what).read_text(encoding="utf-8"), f"{what} changed: copy it into {GUIDE.name}"
        elif kind == "excerpt":
            assert code in (root / what).read_text(encoding="utf-8"), f"{GUIDE.name} quotes {what} wrongly:\n{code}"


def test_the_guides_example_without_pytest_runs():
    (code,) = [code for kind, what, code in marked_blocks(GUIDE.read_text(encoding="utf-8")) if kind == "run"]
    exec(compile(code, f"{GUIDE.name} (without pytest)", "exec"), {})  # noqa: S102 - our own doc's example

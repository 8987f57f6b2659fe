"""The WorkerAssistant on DynamoDB Local: every report rule, checked on the rows themselves."""

from __future__ import annotations

import io
import json
import secrets
from dataclasses import replace

import pytest

from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store
from sosw_core.adapters.invokers.base import InvokeError
from sosw_core.clock import FixedClock
from sosw_core.domain.events import Action
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.errors import InvalidEvent, ReportRejected, TaskNotFound, UnknownLabourer
from sosw_core.services.assistant import WorkerAssistant
from sosw_core.wiring import build_assistant
from tests.support import count_rows, labourer, make_config

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0
LEASE = 60


class InvokeLog:
    """The Lambda service of a hand-off: remembers (function, task id); may refuse every call."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def invoke(self, function_name: str, event: dict) -> None:
        self.calls.append((function_name, event["task_id"]))
        if self.fail:
            raise InvokeError(function_name, "TooManyRequestsException: rate exceeded")


def assistant_for(store, config, clock, chain: InvokeLog) -> WorkerAssistant:
    return build_assistant(config, store, clock=clock, invoker=chain, metrics=StaticMetrics({}).for_tick)


@pytest.fixture
def world(dynamodb_local):
    labs = [labourer("w", max_duration_seconds=LEASE, max_attempts=3),
            labourer("solo", max_duration_seconds=LEASE, chain_on_completion=False)]
    config = make_config(dynamodb_local, labs)
    store = open_store(config)
    create_tables(store.models)
    clock = FixedClock(T0)
    chain = InvokeLog()
    assistant = assistant_for(store, config, clock, chain)
    yield store, config, clock, assistant, chain
    delete_tables(store.models)


def start(store, config, task_id="t-1", labourer_id="w", payload=None, now=T0):
    """Create a task and claim it (attempt 1); the claimed Task."""
    store.tasks.create(NewTask(task_id, labourer_id, payload or {"n": 1}), now)
    return store.tasks.claim(task_id, 0, config.labourer(labourer_id), now)


def report(task, action: Action, attempt: int | None = None, token: str | None = None, **fields):
    event = {"action": action.value, "task_id": task.task_id, "labourer_id": task.labourer_id,
             "attempt": task.attempts if attempt is None else attempt,
             "token": task.token if token is None else token}
    event.update(fields)
    return event


def completed_events(task) -> int:
    return sum(1 for e in task.events if e.kind is EventKind.COMPLETED)


def test_completion_is_applied_and_stored(world):
    store, config, clock, assistant, chain = world
    task = start(store, config)
    store.tasks.create(NewTask("t-2", "w", {"n": 2}), T0)
    clock.advance(5)
    response = assistant.handle(report(task, Action.COMPLETED, result={"sum": 3}))
    assert response == {"task_id": "t-1", "labourer_id": "w", "action": "mark_task_as_completed",
                        "outcome": "applied", "state": "completed", "chained": 1}
    row = store.tasks.get("t-1")
    assert row.state is TaskState.COMPLETED
    assert row.result == {"sum": 3}
    assert row.closed_at == T0 + 5 and row.deadline_at is None
    # the slot went to the next queued task, claimed in the same transaction, then invoked
    nxt = store.tasks.get("t-2")
    assert nxt.state is TaskState.INVOKED and nxt.attempts == 1 and nxt.deadline_at == T0 + 5 + LEASE
    assert chain.calls == [("w", "t-2")]


def test_duplicate_completion_changes_nothing(world):
    store, config, clock, assistant, chain = world
    task = start(store, config)
    for n in (2, 3):
        store.tasks.create(NewTask(f"t-{n}", "w", {"n": n}), T0)
    event = report(task, Action.COMPLETED, result={"sum": 3})
    assistant.handle(event)
    before = store.tasks.get("t-1")
    clock.advance(1)
    response = assistant.handle(event)
    assert response["outcome"] == "duplicate" and response["state"] == "completed"
    after = store.tasks.get("t-1")
    assert after == before
    assert completed_events(after) == 1
    assert len(chain.calls) == 1  # a duplicate does not chain again
    assert sorted(store.tasks.get(i).state.value for i in ("t-2", "t-3")) == ["invoked", "queued"]


def test_completion_with_wrong_token_is_rejected(world):
    store, config, clock, assistant, _ = world
    task = start(store, config)
    before = store.tasks.get("t-1")
    for action in (Action.COMPLETED, Action.FAILED, Action.HEARTBEAT):
        with pytest.raises(ReportRejected) as info:
            assistant.handle(report(task, action, token=secrets.token_urlsafe(24)))
        assert info.value.task_id == "t-1"
    assert store.tasks.get("t-1") == before


def test_another_tasks_token_cannot_close_this_one(world):
    store, config, clock, assistant, _ = world
    mine = start(store, config, "mine")
    theirs = start(store, config, "theirs")
    before = store.tasks.get("theirs")
    with pytest.raises(ReportRejected):
        assistant.handle(report(theirs, Action.COMPLETED, token=mine.token))
    assert store.tasks.get("theirs") == before


def test_completion_for_unknown_task_creates_no_row(world):
    store, config, clock, assistant, chain = world
    start(store, config)
    ghost = {"task_id": "ghost", "labourer_id": "w", "attempt": 1, "token": "x" * 32}
    extras = {Action.COMPLETED: {"result": {"sum": 1}}, Action.FAILED: {"error_message": "x"},
              Action.HEARTBEAT: {}}
    for action, extra in extras.items():
        with pytest.raises(TaskNotFound):
            assistant.handle({"action": action.value, **ghost, **extra})
    assert count_rows(store) == 1
    assert store.tasks.find("ghost") is None
    assert chain.calls == []


def test_failures_retry_with_backoff_then_die_at_max_attempts(world):
    store, config, clock, assistant, _ = world
    lab = config.labourer("w")  # 3 attempts, backoff 10 s x2, no jitter
    task = start(store, config)
    expected = [("retrying", 10.0), ("retrying", 20.0), ("dead", None)]
    for attempt, (state, delay) in enumerate(expected, start=1):
        response = assistant.handle(report(task, Action.FAILED, error_type="ValueError",
                                           error_message=f"bad input {attempt}"))
        assert response["outcome"] == "applied" and response["state"] == state
        row = store.tasks.get("t-1")
        assert row.state.value == state and row.attempts == attempt
        assert row.error_type == "ValueError" and row.error_message == f"bad input {attempt}"
        if delay is not None:
            assert row.deadline_at == clock.now() + delay
            clock.advance(delay)
            assert store.tasks.requeue("t-1", "w", row.deadline_at, clock.now(), attempt=attempt) == "applied"
            task = store.tasks.claim("t-1", attempt, lab, clock.now())
    final = store.tasks.get("t-1")
    assert final.state is TaskState.DEAD and final.closed_at == clock.now()
    kinds = [e.kind for e in final.events]
    assert kinds.count(EventKind.FAILED) == 3 and kinds.count(EventKind.DEAD) == 1


def test_completion_of_a_dead_task_is_rejected(world):
    store, config, clock, assistant, _ = world
    task = start(store, config, "d", labourer_id="solo")
    lab = config.labourer("solo")
    for attempt in range(1, lab.max_attempts + 1):
        assistant.handle(report(task, Action.FAILED, error_message="no"))
        if attempt < lab.max_attempts:
            clock.advance(1000)
            store.tasks.requeue("d", "solo", clock.now(), clock.now())
            task = store.tasks.claim("d", attempt, lab, clock.now())
    before = store.tasks.get("d")
    assert before.state is TaskState.DEAD
    with pytest.raises(ReportRejected, match="dead"):
        assistant.handle(report(task, Action.COMPLETED))
    assert store.tasks.get("d") == before


def test_failure_keeps_the_message_and_the_traceback_tail(world):
    store, config, clock, assistant, _ = world
    task = start(store, config)
    # within the 4000 characters a report carries, but longer than the 2000 a row keeps
    trace = "Traceback (most recent call last):\n" + "  frame\n" * 450 + "ValueError: the real cause"
    assistant.handle(report(task, Action.FAILED, error_type="ValueError", error_message="boom",
                            traceback=trace))
    row = store.tasks.get("t-1")
    assert row.error_message.startswith("boom\n")
    assert row.error_message.endswith("ValueError: the real cause")
    assert len(row.error_message) <= 2000 and len(trace) > 3000


def test_stale_failure_from_an_older_attempt_is_ignored(world):
    store, config, clock, assistant, _ = world
    lab = config.labourer("w")
    first = start(store, config)
    clock.advance(LEASE + 1)
    assert store.tasks.expire("t-1", 1, lab, clock.now())[0] == "applied"
    clock.advance(100)
    store.tasks.requeue("t-1", "w", clock.now(), clock.now(), attempt=1)
    second = store.tasks.claim("t-1", 1, lab, clock.now())
    assert second.attempts == 2
    before = store.tasks.get("t-1")
    response = assistant.handle(report(first, Action.FAILED, error_message="late news"))
    assert response == {"task_id": "t-1", "labourer_id": "w", "action": "mark_task_as_failed",
                        "outcome": "stale", "state": None}
    after = store.tasks.get("t-1")
    assert after == before and after.state is TaskState.INVOKED and after.attempts == 2


def test_heartbeat_extends_the_lease_of_the_current_attempt_only(world):
    store, config, clock, assistant, _ = world
    lab = config.labourer("w")
    first = start(store, config)
    clock.advance(30)
    response = assistant.handle(report(first, Action.HEARTBEAT))
    assert response["outcome"] == "applied" and response["state"] == "invoked"
    assert store.tasks.get("t-1").deadline_at == T0 + 30 + LEASE

    clock.advance(LEASE + 1)  # attempt 1 runs out; attempt 2 starts
    store.tasks.expire("t-1", 1, lab, clock.now())
    clock.advance(100)
    store.tasks.requeue("t-1", "w", clock.now(), clock.now(), attempt=1)
    store.tasks.claim("t-1", 1, lab, clock.now())
    before = store.tasks.get("t-1")
    clock.advance(10)
    assert assistant.handle(report(first, Action.HEARTBEAT))["outcome"] == "stale"
    assert store.tasks.get("t-1") == before  # attempt 2's lease is untouched


def test_result_and_stats_with_any_key_names_read_back_equal(world):
    store, config, clock, assistant, _ = world
    task = start(store, config)
    stats = {"rows-processed": 1200, "bytes.read": 3.5, "by source": {"s3://bucket/a": 7, "x-y": []},
             "flags": [True, False, None], "empty": {}}
    result = {"output-path": "s3://bucket/out", "nested": {"a-b": {"c.d": [1, "two", {"e f": 3}]}}}
    assistant.handle(report(task, Action.COMPLETED, result=result, stats=stats))
    row = store.tasks.get("t-1")
    assert row.stats == stats and row.result == result


def test_a_scalar_result_is_stored_as_a_map(world):
    store, config, clock, assistant, _ = world
    task = start(store, config)
    assistant.handle(report(task, Action.COMPLETED, result=[1, 2, 3]))
    assert store.tasks.get("t-1").result == {"value": [1, 2, 3]}


def test_unknown_labourer_changes_nothing(world):
    store, config, clock, assistant, _ = world
    task = start(store, config)
    before = store.tasks.get("t-1")
    event = {**report(task, Action.COMPLETED), "labourer_id": "nobody"}
    with pytest.raises(UnknownLabourer):
        assistant.handle(event)
    assert store.tasks.get("t-1") == before


def test_chaining_follows_the_labourer_setting(world):
    store, config, clock, assistant, chain = world
    solo = start(store, config, "s-1", labourer_id="solo")
    store.tasks.create(NewTask("s-2", "solo", {"n": 2}), T0)
    assert assistant.handle(report(solo, Action.COMPLETED))["chained"] == 0
    task = start(store, config)
    store.tasks.create(NewTask("t-2", "w", {"n": 2}), T0)
    assistant.handle(report(task, Action.FAILED, error_message="x"))  # failures never chain
    assert chain.calls == []
    assert {store.tasks.get(i).state for i in ("s-2", "t-2")} == {TaskState.QUEUED}


def test_a_late_completion_does_not_hand_off_a_slot_it_does_not_hold(world):
    store, config, clock, assistant, chain = world
    task = start(store, config)
    store.tasks.create(NewTask("t-2", "w", {"n": 2}), T0)
    store.tasks.expire("t-1", 1, config.labourer("w"), T0 + LEASE + 1)
    assert store.tasks.get("t-1").state is TaskState.RETRYING
    clock.advance(LEASE + 2)
    response = assistant.handle(report(task, Action.COMPLETED))
    assert (response["outcome"], response["chained"]) == ("applied", 0)
    assert store.tasks.get("t-1").state is TaskState.COMPLETED
    assert store.tasks.get("t-2").state is TaskState.QUEUED and chain.calls == []


def test_a_completion_of_an_older_attempt_is_stale_while_a_newer_one_runs(world):
    store, config, clock, assistant, chain = world
    first = start(store, config)
    lab = config.labourer("w")
    store.tasks.expire("t-1", 1, lab, T0 + LEASE + 1)
    store.tasks.requeue("t-1", "w", T0 + LEASE + 1, T0 + LEASE + 30)
    second = store.tasks.claim("t-1", 1, lab, T0 + LEASE + 31)
    assert second.attempts == 2
    before = store.tasks.get("t-1")
    response = assistant.handle(report(first, Action.COMPLETED))  # attempt 1, finally
    assert (response["outcome"], response["state"]) == ("stale", None)
    assert store.tasks.get("t-1") == before  # attempt 2 still holds its slot
    assert assistant.handle(report(second, Action.COMPLETED))["outcome"] == "applied"


def test_a_refused_hand_off_invoke_gives_the_next_task_back_and_keeps_the_completion(world):
    store, config, clock, _, _ = world
    chain = InvokeLog(fail=True)
    assistant = assistant_for(store, config, clock, chain)
    task = start(store, config)
    store.tasks.create(NewTask("t-2", "w", {"n": 2}), T0)
    response = assistant.handle(report(task, Action.COMPLETED))
    assert response["outcome"] == "applied" and response["chained"] == 0
    assert response["chain_error"] == "invoke failed: TooManyRequestsException: rate exceeded"
    assert store.tasks.get("t-1").state is TaskState.COMPLETED and chain.calls == [("w", "t-2")]
    given_back = store.tasks.get("t-2")  # at the front of the queue, its attempt not counted
    assert given_back.state is TaskState.QUEUED and given_back.attempts == 0


class RivalClaimsWhatItReads:
    """TaskQueries whose first read is raced: another dispatcher claims every task it returned
    before the hand-off's transaction runs (workers that finish together race like this)."""

    def __init__(self, queries, tasks, labourer):
        self.queries, self.tasks, self.labourer, self.reads, self.rival = queries, tasks, labourer, 0, []

    def next_queued(self, labourer_id, limit):
        refs = self.queries.next_queued(labourer_id, limit)
        self.reads += 1
        if self.reads == 1:
            self.rival = [ref.task_id for ref in refs
                          if self.tasks.claim(ref.task_id, ref.attempts, self.labourer, T0) is not None]
        return refs


def test_a_hand_off_that_lost_its_pick_reads_the_queue_again(world):
    store, config, clock, _, chain = world
    lab = config.labourer("w")
    task = start(store, config)
    for n in range(2, 13):  # 11 queued: the first read sees 10 of them (max 10), the rival takes those
        store.tasks.create(NewTask(f"t-{n:02d}", "w", {"n": n}), T0 + n)
    queries = RivalClaimsWhatItReads(store.queries, store.tasks, lab)
    assistant = build_assistant(config, replace(store, queries=queries), clock=clock, invoker=chain,
                                metrics=StaticMetrics({}).for_tick)
    response = assistant.handle(report(task, Action.COMPLETED))
    assert (response["outcome"], response["chained"]) == ("applied", 1)
    assert queries.reads == 2 and len(queries.rival) == 10
    (_, next_id), = chain.calls
    assert next_id not in queries.rival  # the one task the rival left, found by the second read
    states = [store.tasks.get(f"t-{n:02d}").state for n in range(2, 13)]
    assert states.count(TaskState.INVOKED) == 11 and store.tasks.get("t-1").state is TaskState.COMPLETED


def _valid() -> dict:
    return {"action": "mark_task_as_completed", "task_id": "t-1", "labourer_id": "w",
            "attempt": 1, "token": "TOKEN"}


GARBAGE = [
    (None, "event"),
    ([1, 2], "event"),
    ("not json {", "event"),
    (json.dumps([_valid()]), "event"),
    ({k: v for k, v in _valid().items() if k != "action"}, "action"),
    ({**_valid(), "action": "mark_task_as_done"}, "action"),
    ({k: v for k, v in _valid().items() if k != "task_id"}, "task_id"),
    ({**_valid(), "task_id": 17}, "task_id"),
    ({**_valid(), "task_id": ""}, "task_id"),
    ({k: v for k, v in _valid().items() if k != "labourer_id"}, "labourer_id"),
    ({k: v for k, v in _valid().items() if k != "attempt"}, "attempt"),
    ({**_valid(), "attempt": "1"}, "attempt"),
    ({**_valid(), "attempt": True}, "attempt"),
    ({**_valid(), "attempt": 0}, "attempt"),
    ({**_valid(), "attempt": 1.0}, "attempt"),
    ({k: v for k, v in _valid().items() if k != "token"}, "token"),
    ({**_valid(), "token": None}, "token"),
    ({**_valid(), "surprise": 1}, "surprise"),
    ({**_valid(), "error_type": "ValueError"}, "error_type"),  # not a field of a completion
    ({**_valid(), "action": "heartbeat", "result": {}}, "result"),
    ({**_valid(), "result": {"blob": "x" * (65 * 1024)}}, "result"),
    ({**_valid(), "stats": {"ratio": float("nan")}}, "stats"),
    ({**_valid(), "action": "mark_task_as_failed", "error_message": 42}, "error_message"),
]


@pytest.mark.parametrize(("event", "field"), GARBAGE)
def test_garbage_events_are_refused_naming_the_field(world, event, field):
    store, config, clock, assistant, chain = world
    task = start(store, config)
    if isinstance(event, dict) and event.get("token") == "TOKEN":
        event = {**event, "token": task.token}  # everything right except the named field
    before = store.tasks.get("t-1")
    with pytest.raises(InvalidEvent) as info:
        assistant.handle(event)
    assert info.value.field == field
    assert store.tasks.get("t-1") == before and count_rows(store) == 1 and chain.calls == []


# -- the Lambda entry point, end to end over the wire ----------------------------------------------
class AssistantLambda:
    """A Lambda client stub whose function is ``essentials.worker_assistant.lambda_handler``."""

    def invoke(self, FunctionName, InvocationType, Payload):  # noqa: N803 - boto3's names
        from essentials import worker_assistant

        try:
            body, error = worker_assistant.lambda_handler(json.loads(Payload), None), None
        except Exception as exc:  # noqa: BLE001 - what the Lambda runtime does with an exception
            body, error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}, "Unhandled"
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        return {**response, "FunctionError": error} if error else response


def test_essential_handler_applies_reports_from_a_worker(world, monkeypatch, tmp_path):
    from essentials import worker_assistant
    from sosw_core.domain.events import worker_event
    from sosw_core.services.worker import LambdaReporter, ReportFailed
    from workers.example_worker.handler import SumWorker

    store, config, clock, _, _ = world
    document = {"labourers": [{"id": "w", "max_duration_seconds": LEASE, "chain_on_completion": False}],
                "tables": {"tasks": config.tables.tasks, "jobs": config.tables.jobs},
                "dynamodb": {"endpoint_url": config.dynamodb.endpoint_url}}
    monkeypatch.setenv("SOSW_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("SOSW_CONFIG_JSON", json.dumps(document))
    monkeypatch.setattr(worker_assistant, "_assistant", worker_assistant._assistant.fresh())
    monkeypatch.setattr(worker_assistant, "setup_lambda_logging", lambda service: None)  # keep pytest's

    worker = SumWorker(LambdaReporter(AssistantLambda(), "sosw_worker_assistant"))
    task = start(store, config, "e-1", payload={"numbers": [1, 2, 3]}, now=clock.now())
    response = worker(json.loads(json.dumps(worker_event(task))), None)
    assert response["outcome"] == "applied"
    row = store.tasks.get("e-1")
    assert row.state is TaskState.COMPLETED and row.result == {"sum": 6}
    assert row.stats == {"numbers-summed": 3}

    forged = json.loads(json.dumps(worker_event(start(store, config, "e-2", payload={"numbers": [1]}))))
    forged["sosw_core"]["token"] = "forged"
    with pytest.raises(ReportFailed) as info:
        worker(forged, None)
    assert info.value.error_type == "ReportRejected"
    assert store.tasks.get("e-2").state is TaskState.INVOKED

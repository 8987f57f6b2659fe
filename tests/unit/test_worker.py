"""The Worker base class on a real WorkerAssistant and store (moto): outcomes read from the rows."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.invokers.local import LocalContext
from sosw_core.clock import FixedClock
from sosw_core.domain.events import Action, Invocation, Report, worker_event
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.errors import AttemptSuperseded, SoswError
from sosw_core.services.worker import DirectReporter, LambdaReporter, ReportFailed, Worker
from sosw_core.wiring import build_assistant
from tests.support import count_rows, labourer, make_config
from workers.example_worker.handler import SumWorker

T0 = 1_700_000_000.0
LEASE = 60


@pytest.fixture(scope="module")
def backend():
    """One moto table for the module (client creation is the slow part); tests use their own ids."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        with mock_aws():
            config = make_config(None, [labourer("w", max_duration_seconds=LEASE)])
            store = open_store(config)
            create_tables(store.models)
            yield store, config


@pytest.fixture
def world(backend):
    store, config = backend
    clock = FixedClock(T0)
    yield store, config, clock, build_assistant(config, store, clock=clock, handoff=False)


def dispatch(store, config, payload):
    """Create and claim a fresh task; the event the orchestrator would send (through JSON)."""
    task_id = f"t-{uuid.uuid4().hex[:12]}"
    store.tasks.create(NewTask(task_id, "w", payload), T0)
    task = store.tasks.claim(task_id, 0, config.labourer("w"), T0)
    return json.loads(json.dumps(worker_event(task)))


def row_of(store, event):
    return store.tasks.get(event["task_id"])


class Recorder(Worker):
    """Records its hooks and what the store said while process ran."""

    def __init__(self, reporter, store=None, fail_in: str | None = None, break_hook: bool = False):
        super().__init__(reporter)
        self.store, self.fail_in, self.break_hook = store, fail_in, break_hook
        self.calls: list[str] = []
        self.state_during_process = None

    def _maybe_fail(self, step):
        self.calls.append(step)
        if self.fail_in == step:
            raise ValueError(f"{step} went wrong")

    def before_process(self, payload):
        self._maybe_fail("before")

    def process(self, payload):
        if self.store is not None:
            self.state_during_process = self.store.tasks.get(self.invocation.task_id).state
        self._maybe_fail("process")
        self.stats["rows-processed"] = 2
        return {"echo": payload}

    def after_process(self, payload, result):
        self._maybe_fail("after")

    def on_failure(self, payload, exc):
        self.calls.append(f"on_failure:{type(exc).__name__}")
        if self.break_hook:
            raise RuntimeError("hook broke")


def test_success_is_reported_only_after_process_returned(world):
    store, config, clock, assistant = world
    worker = Recorder(DirectReporter(assistant), store)
    event = dispatch(store, config, {"x": 1})
    response = worker(event, None)
    assert response["outcome"] == "applied" and response["state"] == "completed"
    assert worker.state_during_process is TaskState.INVOKED
    row = row_of(store, event)
    assert row.state is TaskState.COMPLETED
    assert row.result == {"echo": {"x": 1}} and row.stats == {"rows-processed": 2}
    assert worker.calls == ["before", "process", "after"]


def test_example_worker_sums_and_counts(world):
    store, config, clock, assistant = world
    worker = SumWorker(DirectReporter(assistant))
    event = dispatch(store, config, {"numbers": [1, 2, 3.5]})
    worker(event, None)
    row = row_of(store, event)
    assert row.result == {"sum": 6.5} and row.stats == {"numbers-summed": 3}


@pytest.mark.parametrize("step", ["before", "process", "after"])
def test_an_exception_in_any_step_is_reported_as_failed_and_not_raised(world, step):
    store, config, clock, assistant = world
    worker = Recorder(DirectReporter(assistant), fail_in=step)
    event = dispatch(store, config, {"x": 1})
    response = worker(event, None)  # returns: no Lambda re-delivery
    assert response["outcome"] == "applied" and response["state"] == "retrying"
    row = row_of(store, event)
    assert row.state is TaskState.RETRYING and row.error_type == "ValueError"
    assert row.error_message.startswith(f"{step} went wrong\nTraceback (most recent call last)")
    assert row.error_message.rstrip().endswith(f"ValueError: {step} went wrong")
    assert worker.calls[-1] == "on_failure:ValueError"
    assert worker.calls[:-1] == ["before", "process", "after"][: ["before", "process", "after"].index(step) + 1]


def test_a_failing_on_failure_hook_does_not_hide_the_failure(world):
    store, config, clock, assistant = world
    worker = Recorder(DirectReporter(assistant), fail_in="process", break_hook=True)
    event = dispatch(store, config, {})
    worker(event, None)
    row = row_of(store, event)
    assert row.state is TaskState.RETRYING and row.error_type == "ValueError"
    assert worker.calls == ["before", "process", "on_failure:ValueError"]


def test_plain_lambda_mode_processes_without_reporting(world):
    store, config, clock, assistant = world
    rows_before = count_rows(store)
    worker = SumWorker(DirectReporter(assistant))
    assert worker({"numbers": [4, 5]}, None) == {"sum": 9}
    assert worker.invocation is None and worker.heartbeat() is None and worker.idempotency_key is None
    assert count_rows(store) == rows_before


def test_plain_lambda_mode_raises_like_a_plain_lambda(world):
    store, config, clock, assistant = world
    with pytest.raises(ValueError, match="must be a list"):
        SumWorker(DirectReporter(assistant))({"numbers": "1,2"}, None)


def test_heartbeat_extends_the_lease(world):
    store, config, clock, assistant = world

    class Slow(Worker):
        def process(self, payload):
            clock.advance(50)
            self.heartbeat_response = self.heartbeat()
            clock.advance(1)
            return None

    worker = Slow(DirectReporter(assistant))
    event = dispatch(store, config, {})
    worker(event, None)
    assert worker.heartbeat_response is Outcome.APPLIED
    row = row_of(store, event)
    heartbeats = [e for e in row.events if e.kind is EventKind.HEARTBEAT]
    assert [e.at for e in heartbeats] == [T0 + 50]
    assert row.state is TaskState.COMPLETED and row.closed_at == T0 + 51


class Chunks(Worker):
    """Works in three chunks of 20 s, checking between them that its attempt is still current;
    ``overtaken`` runs after the first chunk (the lease running out under the worker's feet)."""

    def __init__(self, reporter, clock, overtaken=None):
        super().__init__(reporter)
        self.clock_, self.overtaken, self.chunks_done = clock, overtaken, 0

    def process(self, payload):
        for _ in range(3):
            self.clock_.advance(20)
            self.chunks_done += 1
            if self.overtaken is not None and self.chunks_done == 1:
                self.overtaken(self.invocation)
            self.ensure_current()
        return {"chunks": self.chunks_done}


def test_ensure_current_extends_the_lease_of_the_current_attempt(world):
    store, config, clock, assistant = world
    event = dispatch(store, config, {})
    worker = Chunks(DirectReporter(assistant), clock)
    response = worker(event, None)
    assert response["outcome"] is Outcome.APPLIED
    row = row_of(store, event)
    assert [e.at for e in row.events if e.kind is EventKind.HEARTBEAT] == [T0 + 20, T0 + 40, T0 + 60]
    assert row.state is TaskState.COMPLETED and row.result == {"chunks": 3}


def test_ensure_current_raises_when_the_attempt_was_superseded(world):
    store, config, clock, assistant = world

    def expire(invocation):  # the scavenger ends the lease: the task goes on without this run
        clock.advance(LEASE)
        outcome, state = store.tasks.expire(invocation.task_id, invocation.attempt, config.labourer("w"),
                                            clock.now())
        assert (outcome, state) == (Outcome.APPLIED, TaskState.RETRYING)

    event = dispatch(store, config, {})
    worker = Chunks(DirectReporter(assistant), clock, overtaken=expire)
    response = worker(event, None)
    assert worker.chunks_done == 1  # it stopped at the first check
    assert response["outcome"] is Outcome.STALE  # its failure report is ignored: the attempt was counted
    row = row_of(store, event)
    assert (row.state, row.attempts, row.error_type) == (TaskState.RETRYING, 1, "LeaseExpired")
    assert not [e for e in row.events if e.kind is EventKind.HEARTBEAT]  # the stale heartbeat wrote nothing


def test_attempt_superseded_is_a_library_error_naming_the_attempt():
    error = AttemptSuperseded("t-1", 2)
    assert isinstance(error, SoswError) and (error.task_id, error.attempt) == ("t-1", 2)
    assert "attempt 2 of task 't-1'" in str(error)


def test_ensure_current_does_nothing_without_a_task(world):
    store, config, clock, assistant = world

    class Plain(Worker):
        def process(self, payload):
            self.ensure_current()
            return {"ok": True}

    rows_before = count_rows(store)
    assert Plain(DirectReporter(assistant))({}, None) == {"ok": True}
    assert count_rows(store) == rows_before


def test_a_heartbeat_answer_without_an_outcome_fails_the_run(world):
    store, config, clock, assistant = world

    class Mute:  # a reporter whose answers name no outcome
        def __init__(self):
            self.sent = []

        def report(self, report):
            self.sent.append(report)
            return {"task_id": report.invocation.task_id}

    class Beating(Worker):
        def process(self, payload):
            return {"beat": self.heartbeat()}

    reporter = Mute()
    Beating(reporter)(dispatch(store, config, {}), None)
    beat, failure = reporter.sent
    assert (beat.action, failure.action, failure.error_type) == (Action.HEARTBEAT, Action.FAILED, "ReportFailed")
    assert "names no outcome" in failure.error_message


def test_a_result_that_cannot_be_reported_fails_the_task_naming_it(world):
    store, config, clock, assistant = world

    class Bad(Worker):
        def process(self, payload):
            return {"blob": "x" * (70 * 1024)}

    event = dispatch(store, config, {})
    Bad(DirectReporter(assistant))(event, None)
    row = row_of(store, event)
    assert row.state is TaskState.RETRYING and row.error_type == "InvalidResult"
    assert "result" in row.error_message


def test_a_non_map_result_is_stored_under_value(world):
    store, config, clock, assistant = world

    class Listy(Worker):
        def process(self, payload):
            return (1, 2)

    event = dispatch(store, config, {})
    Listy(DirectReporter(assistant))(event, None)
    assert row_of(store, event).result == {"value": [1, 2]}


def test_a_kill_is_not_reported(world):
    store, config, clock, assistant = world

    class Killed(BaseException):
        pass

    class Hangs(Worker):
        def process(self, payload):
            raise Killed()

    event = dispatch(store, config, {})
    with pytest.raises(Killed):
        Hangs(DirectReporter(assistant))(event, None)
    assert row_of(store, event).state is TaskState.INVOKED  # the lease will decide


def test_a_refused_report_is_raised(world):
    store, config, clock, assistant = world
    event = dispatch(store, config, {"numbers": [1]})
    event["sosw_core"]["token"] = "forged"
    with pytest.raises(SoswError, match="rejected"):
        SumWorker(DirectReporter(assistant))(event, None)
    assert row_of(store, event).state is TaskState.INVOKED


def test_invocation_context_and_idempotency_key(world):
    store, config, clock, assistant = world
    seen = {}

    class Looks(Worker):
        def process(self, payload):
            seen.update(key=self.idempotency_key, attempt=self.invocation.attempt,
                        remaining=self.remaining_time_ms())

    event = dispatch(store, config, {})
    Looks(DirectReporter(assistant))(event, LocalContext("w", 30))
    assert seen["key"] == event["task_id"] and seen["attempt"] == 1 and 0 < seen["remaining"] <= 30_000
    assert Looks(DirectReporter(assistant)).remaining_time_ms() is None


def test_handler_classmethod_keeps_one_instance_per_class():
    class Doubler(SumWorker):
        def process(self, payload):
            return {"sum": 2 * super().process(payload)["sum"]}

    assert SumWorker.handler({"numbers": [1, 2]}, None) == {"sum": 3}
    assert Doubler.handler({"numbers": [1, 2]}, None) == {"sum": 6}
    first = SumWorker.__dict__["_handler_instance"]
    SumWorker.handler({"numbers": []}, None)
    assert SumWorker.__dict__["_handler_instance"] is first
    assert Doubler.__dict__["_handler_instance"] is not first


# -- LambdaReporter -----------------------------------------------------------------------------
class FakeLambda:
    """A Lambda client stub that runs the WorkerAssistant like the Lambda service would:
    JSON in, JSON out, an exception becomes a FunctionError payload. ``throttle`` first."""

    def __init__(self, assistant=None, throttle: int = 0, error_code="TooManyRequestsException"):
        self.assistant, self.throttle, self.error_code = assistant, throttle, error_code
        self.calls: list[dict] = []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        if len(self.calls) <= self.throttle:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "slow down"},
                               "ResponseMetadata": {"HTTPStatusCode": 429}}, "Invoke")
        try:
            body, error = self.assistant.handle(json.loads(kwargs["Payload"])), None
        except Exception as exc:  # noqa: BLE001 - what the Lambda runtime does with an exception
            body, error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}, "Unhandled"
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        if error:
            response["FunctionError"] = error
        return response


def test_lambda_reporter_carries_reports_over_the_wire_with_retries(world):
    store, config, clock, assistant = world
    client = FakeLambda(assistant, throttle=2)
    reporter = LambdaReporter(client, "assistant-fn", sleep=lambda s: None)
    event = dispatch(store, config, {"numbers": [2, 3]})
    response = SumWorker(reporter)(event, None)
    assert response["outcome"] == "applied"
    assert row_of(store, event).result == {"sum": 5}
    assert len(client.calls) == 3
    assert {c["InvocationType"] for c in client.calls} == {"RequestResponse"}
    assert {c["FunctionName"] for c in client.calls} == {"assistant-fn"}


def test_lambda_reporter_gives_up_after_its_attempts(world):
    store, config, clock, assistant = world
    reporter = LambdaReporter(FakeLambda(assistant, throttle=10), "fn", attempts=3, sleep=lambda s: None)
    event = dispatch(store, config, {"numbers": [1]})
    with pytest.raises(ReportFailed) as info:
        SumWorker(reporter)(event, None)
    assert info.value.error_type == "TooManyRequestsException"
    assert row_of(store, event).state is TaskState.INVOKED


def test_lambda_reporter_does_not_retry_a_refusal(world):
    store, config, clock, assistant = world
    client = FakeLambda(assistant, throttle=1, error_code="AccessDeniedException")
    with pytest.raises(ReportFailed):
        LambdaReporter(client, "fn", sleep=lambda s: None).report(
            Report(Action.HEARTBEAT, Invocation("t-x", "w", 1, "tok")))
    assert len(client.calls) == 1


def test_lambda_reporter_raises_the_assistants_error(world):
    store, config, clock, assistant = world
    event = dispatch(store, config, {"numbers": [1]})
    event["sosw_core"]["token"] = "forged"
    client = FakeLambda(assistant)
    with pytest.raises(ReportFailed) as info:
        SumWorker(LambdaReporter(client, "fn"))(event, None)
    assert info.value.error_type == "ReportRejected" and len(client.calls) == 1


def test_default_reporter_reads_the_function_name_and_creates_no_client(monkeypatch):
    monkeypatch.setenv("SOSW_WORKER_ASSISTANT_FUNCTION", "my-assistant")
    reporter = SumWorker().reporter
    assert isinstance(reporter, LambdaReporter) and reporter.function_name == "my-assistant"
    assert reporter._client is None
    monkeypatch.delenv("SOSW_WORKER_ASSISTANT_FUNCTION")
    assert LambdaReporter().function_name == "sosw_worker_assistant"

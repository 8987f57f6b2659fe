"""Security on moto: token proof, size limits before any write, no secrets in logs.

(a) A report that cannot prove it comes from an invocation of that task changes nothing.
(b) Payloads, results and messages are checked against their limits before any write.
(c) A whole flow (ingest, dispatch, complete, fail, die by lease, alert) logs task ids at INFO
    and above, never payload contents.
(d) IAM least privilege is checked where the templates are: ``tests/unit/test_cloudformation.py``.

"No change" is read from the table: every attribute of every row, by a consistent Scan.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from datetime import date

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.notifiers.local import LogNotifier
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.events import Action, worker_event
from sosw_core.domain.task import MAX_PAYLOAD_BYTES, MAX_REPORT_BYTES, NewTask, TaskState
from sosw_core.errors import (
    InvalidEvent,
    InvalidJob,
    InvalidTask,
    ReportRejected,
    TaskNotFound,
    UnknownLabourer,
)
from sosw_core.logging_json import JsonFormatter
from sosw_core.services.worker import DirectReporter, Worker
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger, build_scheduler
from tests.fuzz.events import genuine_report
from tests.fuzz.world import T0, snapshot, tasks_in_every_state
from tests.support import count_rows, labourer, make_config

LABOURERS = (labourer("w", max_attempts=3), labourer("v", max_attempts=2))


@pytest.fixture(scope="module")
def backend():
    """One moto deployment for the module; every test makes its own tasks (its own prefix)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        with mock_aws():
            config = make_config(None, LABOURERS)
            store = open_store(config)
            create_tables(store.models)
            yield config, store


def _world(backend):
    config, store = backend
    tasks = tasks_in_every_state(store, config, uuid.uuid4().hex[:8])
    return store, tasks, build_assistant(config, store, clock=FixedClock(T0 + 30), handoff=False)


@pytest.fixture(scope="module")
def world(backend):
    """Tasks in every state, shared by the tests that must change none of them."""
    return _world(backend)


@pytest.fixture
def fresh(backend):
    """Tasks of this test only, for the tests whose report does change a row."""
    return _world(backend)


def refused_without_change(store, assistant, event) -> str:
    """Handle ``event``; it must be refused (or ignored as stale) and change no row."""
    before = snapshot(store)
    try:
        response = assistant.handle(event)
    except (ReportRejected, TaskNotFound, UnknownLabourer, InvalidEvent) as exc:
        outcome = type(exc).__name__
    else:
        assert response["outcome"] == "stale", response
        outcome = "stale"
    assert snapshot(store) == before
    return outcome


# -- (a) token proof ---------------------------------------------------------------------------
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", ["queued", "invoked", "retrying", "completed", "dead"])
def test_a_wrong_token_is_refused(world, action, state):
    store, tasks, assistant = world
    event = genuine_report(tasks[state], action)
    event["token"] = "forged-" + event["token"][7:]
    assert refused_without_change(store, assistant, event) == "ReportRejected"


@pytest.mark.parametrize("action", list(Action))
def test_another_tasks_token_is_refused(world, action):
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], action)
    event["token"] = tasks["invoked_again"].token  # a real token, of another task
    assert refused_without_change(store, assistant, event) == "ReportRejected"


@pytest.mark.parametrize("action", list(Action))
def test_the_right_token_for_another_task_id_is_refused(world, action):
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], action)
    event["task_id"] = tasks["invoked_again"].task_id
    assert refused_without_change(store, assistant, event) == "ReportRejected"


@pytest.mark.parametrize("action", list(Action))
def test_a_report_of_a_previous_attempt_changes_nothing(world, action):
    """Tokens belong to the task; the attempt number names the invocation. Attempt 1's report
    while attempt 2 runs (its lease ran out, the task was retried) is stale."""
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked_again"], action)
    event["attempt"] = 1
    assert refused_without_change(store, assistant, event) == "stale"


@pytest.mark.parametrize("action", list(Action))
def test_the_right_token_with_another_labourer_changes_nothing(world, action):
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], action)
    event["labourer_id"] = "v"  # configured, but not this task's labourer
    assert refused_without_change(store, assistant, event) in ("ReportRejected", "stale")
    event["labourer_id"] = "nobody"
    assert refused_without_change(store, assistant, event) == "UnknownLabourer"


def test_an_unknown_task_id_creates_no_row(world):
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], Action.COMPLETED)
    event["task_id"] = f"missing-{uuid.uuid4().hex}"
    assert refused_without_change(store, assistant, event) == "TaskNotFound"


def test_a_token_dynamodb_cannot_compare_is_refused_at_the_edge(world):
    """A non-ASCII token used to reach ``secrets.compare_digest`` and raise TypeError."""
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], Action.FAILED)
    event["token"] = "tøken"
    assert refused_without_change(store, assistant, event) == "InvalidEvent"


def test_the_proof_holds_a_genuine_report(fresh):
    """The refusals above are not refusals of everything: the genuine report applies."""
    store, tasks, assistant = fresh
    response = assistant.handle(genuine_report(tasks["invoked"], Action.COMPLETED))
    assert response["outcome"] == "applied"
    assert store.tasks.get(tasks["invoked"].task_id).state is TaskState.COMPLETED


# -- (b) size limits before any write -----------------------------------------------------------
def test_an_oversized_payload_is_refused_before_any_write(backend):
    config, store = backend
    before = count_rows(store)
    with pytest.raises(InvalidTask) as info:
        NewTask(f"big-{uuid.uuid4().hex}", "w", {"blob": "x" * MAX_PAYLOAD_BYTES})
    assert info.value.field == "payload" and str(MAX_PAYLOAD_BYTES) in str(info.value)
    assert count_rows(store) == before


def test_a_job_with_an_oversized_task_writes_nothing(backend):
    config, store = backend
    scheduler = SchedulerConfig(job_schema_variants=(("default", ("section",)),))
    config = dataclasses.replace(config, scheduler=scheduler)
    jobs_table = store.models.job.Meta.table_name
    client = boto3.client("dynamodb")
    jobs_before, tasks_before = client.scan(TableName=jobs_table, Select="COUNT")["Count"], count_rows(store)
    job = {"lambda_name": "w", "isolate_sections": True,
           "sections": {"small": None, "big": {"blob": "x" * (MAX_PAYLOAD_BYTES + 1)}}}
    ingestor = build_scheduler(config, store, invoker=None, clock=FixedClock(T0))
    with pytest.raises(InvalidJob) as info:
        ingestor.handle(job, as_of=date(2023, 11, 14))
    assert info.value.path == "task 1"  # the job's order (small, big), as sosw 0.7 kept it
    assert "limit" in info.value.rule
    assert count_rows(store) == tasks_before
    assert client.scan(TableName=jobs_table, Select="COUNT")["Count"] == jobs_before


@pytest.mark.parametrize("field", ["result", "stats"])
@pytest.mark.parametrize("value", [
    {"blob": "x" * MAX_REPORT_BYTES},  # over the report limit
    {"n": 10**40 + 1},  # DynamoDB keeps 38 significant digits
    {"": "empty key"},  # DynamoDB map keys are non-empty
], ids=["oversized", "number", "empty-key"])
def test_a_report_whose_result_cannot_be_stored_changes_nothing(world, field, value):
    store, tasks, assistant = world
    event = genuine_report(tasks["invoked"], Action.COMPLETED)
    event[field] = value
    before = snapshot(store)
    with pytest.raises(InvalidEvent) as info:
        assistant.handle(event)
    assert info.value.field.startswith(field)
    assert snapshot(store) == before


def test_a_long_error_message_is_cut_before_the_write(fresh):
    """A failure still counts when its message is huge: the text is cut, the attempt is failed."""
    store, tasks, assistant = fresh
    event = genuine_report(tasks["invoked"], Action.FAILED)
    event.update(error_message="m" * 1_000_000, traceback="t" * 1_000_000, error_type="E" * 10_000)
    assert assistant.handle(event)["outcome"] == "applied"
    row = store.tasks.get(tasks["invoked"].task_id)
    assert row.state is TaskState.RETRYING
    assert len(row.error_message) <= 2000 and len(row.error_type) <= 200


class Returns(Worker):
    def __init__(self, reporter, value):
        super().__init__(reporter)
        self.value = value

    def process(self, payload):
        return self.value


def test_a_worker_result_too_large_fails_the_task_without_storing_it(fresh):
    store, tasks, assistant = fresh
    invoked = tasks["invoked"]
    Returns(DirectReporter(assistant), {"blob": "x" * MAX_REPORT_BYTES})(
        json.loads(json.dumps(worker_event(invoked))))
    row = store.tasks.get(invoked.task_id)
    assert (row.state, row.error_type, row.result) == (TaskState.RETRYING, "InvalidResult", None)
    assert "result" in row.error_message


# -- (c) no payload contents in logs -------------------------------------------------------------
SECRET = "s3cr3t-c0nt3nt-4f1d"


class SyncInvoker:
    """Runs the worker at once (as a Lambda would, later); ``hangs``: labourers whose
    workers never report, so their leases run out."""

    def __init__(self, workers, hangs=()):
        self.workers = workers
        self.hangs = set(hangs)
        self.invoked: list[str] = []

    def invoke(self, function_name, event):
        self.invoked.append(event["task_id"])
        if function_name not in self.hangs:
            self.workers[function_name](json.loads(json.dumps(event)))


class Uses(Worker):
    """Reads the secret from its payload; the failing one puts it in its exception message."""

    def __init__(self, reporter, fail: bool):
        super().__init__(reporter)
        self.fail = fail

    def process(self, payload):
        if self.fail:
            raise PermissionError(f"token {payload['credentials']} was refused")
        return {"echo": payload["credentials"]}


def test_a_whole_flow_logs_task_ids_and_never_payload_contents(caplog):
    with mock_aws():
        labourers = (labourer("ok"), labourer("bad", max_attempts=2), labourer("hang", max_attempts=1))
        config = make_config(None, labourers,
                             scheduler=SchedulerConfig(job_schema_variants=(("default", ("section",)),)))
        store = open_store(config)
        create_tables(store.models)
        clock = FixedClock(T0)
        assistant = build_assistant(config, store, clock=clock, handoff=False)
        workers = {"ok": Uses(DirectReporter(assistant), fail=False), "bad": Uses(DirectReporter(assistant), True)}
        invoker = SyncInvoker(workers, hangs={"hang"})
        ingestor = build_scheduler(config, store, invoker=invoker, clock=clock)
        orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=StaticMetrics({}).for_tick,
                                          clock=clock)
        scavenger = build_scavenger(config, store, notifier=LogNotifier(), clock=clock)
        with caplog.at_level(logging.INFO, logger="sosw_core"):
            for name in ("ok", "bad", "hang"):
                ingestor.handle({"lambda_name": name, "credentials": SECRET, "isolate_sections": True,
                                 "sections": {f"{SECRET}-a": None, "b": {"note": SECRET}}})
            for _ in range(6):  # dispatch, let leases and backoffs run out, sweep
                orchestrator.tick(clock.now())
                clock.advance(400)
                scavenger.sweep(clock.now())
        states = {row.task_id: TaskState(row.state) for row in store.models.task.scan()}
    assert sorted(states.values()).count(TaskState.COMPLETED) == 2
    assert sorted(states.values()).count(TaskState.DEAD) == 4
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records if record.levelno >= logging.INFO]
    logged = "\n".join(lines + [record.getMessage() for record in caplog.records])
    assert SECRET not in logged
    for task_id in states:  # every task is named in the logs, by id
        assert task_id in logged
    assert any(json.loads(line).get("task_id") for line in lines)


def test_the_log_check_would_see_a_leak(caplog):
    """The check above can fail: a payload value passed in ``extra`` shows in the formatted line."""
    with caplog.at_level(logging.INFO, logger="sosw_core"):
        logging.getLogger("sosw_core.leaky").info("report", extra={"payload": {"credentials": SECRET}})
    assert SECRET in JsonFormatter().format(caplog.records[-1])

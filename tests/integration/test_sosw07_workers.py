"""An unchanged sosw 0.7.51 worker under sosw-core, on DynamoDB Local: the round trip.

sosw-core's Orchestrator claims and "invokes" a task (a recording invoker stands for Lambda);
the test then runs that invocation as Lambda would, once (the worker stack sets
``MaximumRetryAttempts: 0``): ``sosw07_worker.py`` in a subprocess of ``.venv-sosw07/bin/python``,
i.e. a real ``sosw.worker.Worker`` subclass run by sosw's own ``get_lambda_handler``. sosw's
Worker then reports with its own boto3 Lambda client, exactly as in AWS
(``InvocationType=Event``, its own payload); boto3's standard ``AWS_ENDPOINT_URL_LAMBDA`` points
that client at :class:`LambdaApi`, a local stand-in of the Lambda Invoke API, which records the
call; the test hands the payload to sosw-core's WorkerAssistant (built by ``sosw_core.wiring``,
metrics as the Lambda handler logs them). Every run writes one row to a DynamoDB table of its
own, so "ran once" is counted in DynamoDB, not inferred.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from sosw_core.adapters import metrics
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import FixedClock
from sosw_core.config import Backoff
from sosw_core.domain.events import Action, Invocation, Report
from sosw_core.domain.outcomes import REJECT_SOSW07_UNTRUSTED
from sosw_core.domain.task import EventKind, NewTask, TaskState
from sosw_core.errors import ReportRejected
from sosw_core.services.metered import log_refused_report, log_report_metrics
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger
from tests.fakes import RecordingInvoker
from tests.support import emf_values, labourer, make_config

ROOT = Path(__file__).resolve().parents[2]
SOSW07_PYTHON = ROOT / ".venv-sosw07" / "bin" / "python"
WORKER = Path(__file__).with_name("sosw07_worker.py")
ASSISTANT = "sosw_worker_assistant"  # the function name sosw 0.7's Worker invokes by default

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SOSW07_PYTHON.exists(), reason="needs the real sosw 0.7.51 in .venv-sosw07: "
                       "run `make .venv-sosw07/.installed` (`make test` does)"),
]

T0 = 1_700_000_000.0
LEASE = 60
BACKOFF = Backoff(base_seconds=10, factor=2, cap_seconds=300, jitter=0)


# -- the Lambda service, as far as the worker can tell ------------------------------------------
class LambdaApi:
    """A local stand-in of Lambda's Invoke API (``POST /2015-03-31/functions/<name>/invocations``).

    Records ``(function name, invocation type, payload)`` and answers as Lambda answers an
    accepted asynchronous invoke (202, empty body).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        calls, lock = self.calls, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                parts = self.path.split("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    calls.append((unquote(parts[3]), self.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                                  json.loads(body)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self) -> list[tuple[str, str, Any]]:
        taken = list(self.calls)
        self.calls.clear()
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class World:
    store: Any
    config: Any
    clock: FixedClock
    invoker: RecordingInvoker
    api: LambdaApi
    endpoint: str
    runs_table: str
    emf: io.StringIO = field(default_factory=io.StringIO)
    notifier: MemoryNotifier = field(default_factory=MemoryNotifier)
    seen: list[dict[str, Any]] = field(default_factory=list)  # events the workers printed
    exits: list[int] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        static = StaticMetrics({}).for_tick
        self.orchestrator = build_orchestrator(self.config, self.store, invoker=self.invoker, metrics=static,
                                               clock=self.clock)
        self.scavenger = build_scavenger(self.config, self.store, notifier=self.notifier, clock=self.clock)
        self.assistant = build_assistant(
            self.config, self.store, clock=self.clock, invoker=self.invoker, metrics=static,
            on_refused=lambda labourer_id, now: log_refused_report(labourer_id, now, self.emf))

    # -- what Lambda and the schedules would do ------------------------------------------------
    def create(self, task_id: str, labourer_id: str, **payload: Any) -> None:
        assert self.store.tasks.create(NewTask(task_id, labourer_id, payload), self.clock.now())

    def at(self, seconds: float) -> None:
        """Time passes to T0 + seconds; the Scavenger sweeps, the Orchestrator ticks."""
        self.clock.value = T0 + seconds
        self.scavenger.sweep(self.clock.now())
        self.orchestrator.tick(self.clock.now())

    def run_invoked_workers(self) -> None:
        """Run every invocation once, then deliver what the workers sent the WorkerAssistant."""
        while calls := self.invoker.take():
            for function_name, event in calls:
                self.exits.append(self._run(function_name, event))
                for name, invocation_type, payload in self.api.take():
                    assert (name, invocation_type) == (ASSISTANT, "Event")  # what sosw 0.7 sends
                    response = self.assistant.handle(payload)
                    self.responses.append(log_report_metrics(response, self.clock.now(), self.emf))

    def _run(self, function_name: str, event: dict[str, Any]) -> int:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # any other AWS call fails at once, never leaves
            "AWS_ENDPOINT_URL_LAMBDA": self.api.url, "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": function_name, "RUNS_TABLE": self.runs_table,
        }
        done = subprocess.run([str(SOSW07_PYTHON), str(WORKER)], input=json.dumps(event), env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"event"')]
        assert len(printed) == 1, (done.stdout, done.stderr)
        self.seen.append(printed[0]["event"])
        return done.returncode

    # -- what the test reads back ---------------------------------------------------------------
    def runs(self) -> dict[str, list[int]]:
        """task id -> the ``attempts`` each run of it saw, from the runs table (a Scan)."""
        out: dict[str, list[int]] = {}
        pages = _dynamodb(self.endpoint).get_paginator("scan").paginate(TableName=self.runs_table,
                                                                         ConsistentRead=True)
        for page in pages:
            for item in page["Items"]:
                out.setdefault(item["task_id"]["S"], []).append(int(item["attempts"]["N"]))
        return {task_id: sorted(seen) for task_id, seen in out.items()}

    def task(self, task_id: str):
        return self.store.tasks.get(task_id)


def _dynamodb(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def world(dynamodb_local):
    labs = [labourer("trusting", max_duration_seconds=LEASE, max_attempts=2, backoff=BACKOFF,
                     accept_sosw07_reports=True),
            labourer("strict", max_duration_seconds=LEASE, max_attempts=2, backoff=BACKOFF)]
    config = make_config(dynamodb_local, labs)
    store = open_store(config)
    create_tables(store.models)
    runs_table = f"sosw07_runs_{uuid.uuid4().hex[:10]}"
    client = _dynamodb(dynamodb_local)
    client.create_table(TableName=runs_table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "run_id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}])
    api = LambdaApi()
    yield World(store, config, FixedClock(T0), RecordingInvoker(), api, dynamodb_local, runs_table)
    api.close()
    client.delete_table(TableName=runs_table)
    delete_tables(store.models)


# -- the round trip ------------------------------------------------------------------------------
def test_a_sosw07_worker_completes_its_tasks_each_run_once(world):
    for i in range(3):
        world.create(f"c-{i}", "trusting", kind="complete", rows=i + 1)
    world.at(0)
    world.run_invoked_workers()

    assert world.exits == [0, 0, 0]
    assert [r["outcome"] for r in world.responses] == ["applied"] * 3
    for i in range(3):
        task = world.task(f"c-{i}")
        assert task.state is TaskState.COMPLETED and task.attempts == 1
        assert task.result == {"rows": i + 1}  # what the worker put in self.result
        assert task.stats["rows_processed"] == i + 1
    # long after every lease: nothing expires, nothing is dispatched again
    world.at(10 * LEASE)
    world.run_invoked_workers()
    assert world.runs() == {f"c-{i}": [0] for i in range(3)}  # each ran once, its first attempt
    assert emf_values(_lines(world), metrics.COMPLETED, Labourer="trusting") == [1, 1, 1]


def test_the_worker_reads_sosw07_fields_beside_its_payload(world):
    world.create("c-0", "trusting", kind="complete", rows=2)
    world.at(0)
    world.run_invoked_workers()
    [event] = world.seen
    created = world.task("c-0").created_at
    assert {k: event[k] for k in ("task_id", "labourer_id", "created_at", "greenfield", "attempts",
                                  "kind", "rows")} == {
        "task_id": "c-0", "labourer_id": "trusting", "created_at": created, "greenfield": int(created),
        "attempts": 0, "kind": "complete", "rows": 2}


def test_a_duplicate_delivery_of_a_sosw07_report_changes_nothing(world):
    world.create("c-0", "trusting", kind="complete", rows=1)
    world.at(0)
    world.invoker.take()  # the worker "ran" already: its report is delivered twice below
    report = {"action": "mark_task_as_completed", "task_id": "c-0", "result": {"rows": 1}}
    assert world.assistant.handle(dict(report))["outcome"] == "applied"
    before = world.task("c-0")
    assert world.assistant.handle(json.dumps(report))["outcome"] == "duplicate"
    assert world.task("c-0") == before


def test_a_sosw07_failure_is_recorded_and_retried_by_policy_each_attempt_once(world):
    world.create("f-0", "trusting", kind="fail", rows=5)
    world.at(0)
    world.run_invoked_workers()
    retrying = world.task("f-0")
    assert retrying.state is TaskState.RETRYING and retrying.attempts == 1
    assert retrying.error_type == "MarkedAsFailed"
    assert retrying.stats["rows_processed"] == 5  # the failing attempt's stats (sosw adds its own) are kept
    assert retrying.deadline_at == T0 + 10  # backoff base 10 s, no jitter

    world.at(11)  # the backoff is over: requeued and dispatched again
    world.run_invoked_workers()
    dead = world.task("f-0")
    assert dead.state is TaskState.DEAD and dead.attempts == 2
    assert [e.kind for e in dead.events if e.kind in (EventKind.FAILED, EventKind.EXPIRED)] == [
        EventKind.FAILED, EventKind.FAILED]  # reported failures, no lease ran out
    world.at(10 * LEASE)
    world.run_invoked_workers()
    assert world.runs() == {"f-0": [0, 1]}  # one run per attempt, no more
    assert [a.task_id for a in world.notifier.alerts] == ["f-0"]
    lines = _lines(world)
    assert emf_values(lines, metrics.FAILED, Labourer="trusting") == [1]
    assert emf_values(lines, metrics.DEAD, Labourer="trusting") == [1]


def test_a_raising_sosw07_worker_sends_nothing_and_its_lease_retries_it(world):
    world.create("r-0", "trusting", kind="raise", rows=1)
    world.at(0)
    world.run_invoked_workers()
    assert world.exits == [1]  # the handler raised: Lambda records the invocation as failed
    assert world.responses == []  # sosw's Worker reports nothing when the subclass raises
    assert world.task("r-0").state is TaskState.INVOKED

    world.at(LEASE + 1)  # the lease ran out: failed attempt, retry due in 10 s
    assert world.task("r-0").state is TaskState.RETRYING
    world.at(LEASE + 12)
    world.run_invoked_workers()
    world.at(2 * LEASE + 20)
    dead = world.task("r-0")
    assert dead.state is TaskState.DEAD and dead.error_type == "LeaseExpired"
    world.at(10 * LEASE)
    world.run_invoked_workers()
    assert world.runs() == {"r-0": [0, 1]}
    assert world.exits == [1, 1]


def test_a_labourer_that_does_not_trust_sosw07_reports_refuses_them_loudly(world, caplog):
    world.create("s-0", "strict", kind="complete", rows=1)
    world.at(0)
    with caplog.at_level(logging.ERROR, logger="sosw_core.services.assistant"):
        world.run_invoked_workers()
    [response] = world.responses
    assert response["outcome"] == "refused" and REJECT_SOSW07_UNTRUSTED in response["reason"]
    [record] = [r for r in caplog.records if r.getMessage() == "report refused"]
    assert (record.levelno, record.task_id, record.labourer_id) == (logging.ERROR, "s-0", "strict")
    assert "accept_sosw07_reports" in record.reason
    lines = _lines(world)
    assert emf_values(lines, metrics.REFUSED, Labourer="strict") == [1]
    assert emf_values(lines, metrics.REFUSED) == [1]  # the roll-up the stack alarms on
    assert world.task("s-0").state is TaskState.INVOKED  # unchanged; its lease will retry it


# -- the rules of a tokenless report, one at a time ----------------------------------------------
def sosw07(action: Action, task_id: str, **fields: Any) -> dict[str, Any]:
    return {"action": action.value, "task_id": task_id, **fields}


def test_a_completion_after_the_lease_ran_out_is_accepted_as_a_token_one_is(world):
    world.create("late", "trusting", kind="complete", rows=1)
    world.at(0)
    assert len(world.invoker.take()) == 1  # its run outlives its lease; it reports late, below
    world.at(LEASE + 1)  # expired: RETRYING, no attempt running
    assert world.task("late").state is TaskState.RETRYING
    assert world.assistant.handle(sosw07(Action.COMPLETED, "late"))["outcome"] == "applied"
    assert world.task("late").state is TaskState.COMPLETED
    world.at(LEASE + 20)  # its retry was due: never dispatched, the work is done
    assert world.invoker.take() == []


def test_a_failure_of_an_attempt_that_already_ended_is_stale(world):
    world.create("gone", "trusting", kind="fail", rows=1)
    world.at(0)
    world.at(LEASE + 1)  # the Scavenger counted the attempt already
    before = world.task("gone")
    response = world.assistant.handle(sosw07(Action.FAILED, "gone"))
    assert (response["outcome"], response["state"]) == ("stale", None)
    assert world.task("gone") == before


@pytest.mark.parametrize("action", [Action.COMPLETED, Action.FAILED])
def test_a_report_whose_attempt_ends_between_read_and_write_is_stale(world, action):
    """The race the guard on ``attempts`` closes: read attempt 1, the lease ends and attempt 2
    is claimed, then the write finds attempts = 2 and changes nothing."""
    world.create("race", "trusting", kind="complete", rows=1)
    world.at(0)
    lab = world.config.labourer("trusting")

    class Interleaved:
        def __init__(self, tasks):
            self.tasks = tasks

        def __getattr__(self, name):
            return getattr(self.tasks, name)

        def get(self, task_id):
            seen = self.tasks.get(task_id)
            self.tasks.expire(task_id, 1, lab, T0 + LEASE + 1)
            self.tasks.requeue(task_id, lab.id, T0 + LEASE + 11, T0 + LEASE + 12, attempt=1)
            assert self.tasks.claim(task_id, 1, lab, T0 + LEASE + 12) is not None
            return seen

    racing = build_assistant(world.config, SimpleNamespace(tasks=Interleaved(world.store.tasks)),
                             clock=world.clock, handoff=False)
    response = racing.handle(sosw07(action, "race"))
    assert response["outcome"] == "stale"
    task = world.task("race")
    assert (task.state, task.attempts) == (TaskState.INVOKED, 2)  # attempt 2 runs on, untouched


def test_refusals_of_tokenless_reports_are_answered_and_of_token_reports_raised(world):
    world.create("q", "trusting", kind="complete", rows=1)  # queued, never invoked
    never = world.assistant.handle(sosw07(Action.COMPLETED, "q"))
    assert never["outcome"] == "refused" and "never invoked" in never["reason"]
    unknown = world.assistant.handle(sosw07(Action.COMPLETED, "nope"))
    assert (unknown["outcome"], unknown["labourer_id"]) == ("refused", None)
    junk = world.assistant.handle({"action": "heartbeat", "task_id": "q"})
    assert junk["outcome"] == "refused"
    world.at(0)
    task = world.task("q")
    forged = Report(Action.COMPLETED, Invocation("q", "trusting", 1, "not-the-token")).to_event()
    with pytest.raises(ReportRejected):
        world.assistant.handle(forged)  # a sosw-core worker invokes synchronously: it sees the error
    assert world.task("q") == task
    lines = _lines(world)
    assert emf_values(lines, metrics.REFUSED) == [1, 1, 1, 1]  # every refusal counted
    assert emf_values(lines, metrics.REFUSED, Labourer="trusting") == [1, 1]  # where the labourer is known


def _lines(world: World) -> list[dict[str, Any]]:
    return [json.loads(line) for line in world.emf.getvalue().splitlines()]

"""The Lambda entry points in ``essentials/``, called as Lambda calls them, on moto.

Config comes from the environment as the stack sets it; tables, the worker function and the
alerts topic are moto's. The EMF lines each handler prints are parsed back and checked
against the table rows.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from essentials import orchestrator as orchestrator_entry
from essentials import scavenger as scavenger_entry
from essentials import worker_assistant as assistant_entry
from sosw_core.adapters import metrics
from sosw_core.adapters.dynamodb import Store, create_tables, open_store
from sosw_core.clock import SystemClock
from sosw_core.config import load_config
from sosw_core.domain.events import Action, Report, split_worker_event, worker_event
from sosw_core.domain.task import NewTask, TaskState
from tests.fakes import RunsOut
from tests.support import emf_values

WORKER = "sosw-core-test-worker"
LABOURERS = [{"id": "w", "arn": WORKER, "max_simultaneous_invocations": 2, "max_duration_seconds": 60,
              "max_attempts": 1}]


@pytest.fixture(autouse=True)
def _restore_logging():
    """The WorkerAssistant entry point configures the process's logging (as in Lambda): undo it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    formatters = [h.formatter for h in handlers]
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler, formatter in zip(handlers, formatters, strict=True):
        handler.setFormatter(formatter)
    root.setLevel(level)


@pytest.fixture
def deployed(monkeypatch, tmp_path) -> Store:
    """moto with the stack's environment: tables, config, a worker function and the alerts topic."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
        env = {"SOSW_CONFIG_DIR": str(tmp_path), "SOSW_TASKS_TABLE": "t-tasks", "SOSW_JOBS_TABLE": "t-jobs",
               "SOSW_ALERTS_TOPIC_ARN": topic, "SOSW_CONFIG_JSON": json.dumps({"labourers": LABOURERS})}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        # each entry point builds its essential at the first call and keeps it: start fresh
        monkeypatch.setattr(orchestrator_entry, "_orchestrator", orchestrator_entry._orchestrator.fresh())
        monkeypatch.setattr(scavenger_entry, "_scavenger", scavenger_entry._scavenger.fresh())
        monkeypatch.setattr(assistant_entry, "_assistant", assistant_entry._assistant.fresh())
        store = open_store(load_config("orchestrator"))
        create_tables(store.models)
        _create_worker()
        yield store


def _create_worker() -> None:
    role = boto3.client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("h.py", "def h(event, context):\n    return None\n")
    boto3.client("lambda").create_function(FunctionName=WORKER, Runtime="python3.12", Role=role, Handler="h.h",
                                           Code={"ZipFile": code.getvalue()})


def emf(capsys) -> list[dict[str, Any]]:
    """The EMF lines among what the handler printed."""
    out = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            out.append(json.loads(line))
    return out


def states(store: Store) -> Counter:
    return Counter(r.state for r in store.models.task.scan())


def test_orchestrator_handler_dispatches_and_logs_its_metrics(deployed, capsys):
    store = deployed
    store.batch.create_many([NewTask(f"t{i}", "w", {"i": i}) for i in range(5)], SystemClock().now() - 30)
    summary = orchestrator_entry.lambda_handler({}, RunsOut(1))
    assert summary["ticks"] == 1 and summary["invoked"] == {"w": 2} and summary["errors"] == []
    lines = emf(capsys)
    assert emf_values(lines, metrics.INVOKED, Labourer="w") == [2]
    assert emf_values(lines, metrics.QUEUED, Labourer="w") == [3] == [states(store)[TaskState.QUEUED]]
    assert emf_values(lines, metrics.RUNNING, Labourer="w") == [2] == [states(store)[TaskState.INVOKED]]
    [latencies] = emf_values(lines, metrics.DISPATCH_LATENCY, Labourer="w")
    assert len(latencies) == 2 and all(ms >= 30_000 for ms in latencies)  # runnable 30 s before, at least
    assert emf_values(lines, metrics.ERRORS, Component="orchestrator") == [0]


def test_scavenger_handler_kills_alerts_and_logs_dead_tasks(deployed, capsys):
    store = deployed
    config = load_config("scavenger")
    store.tasks.create(NewTask("t1", "w", {}), 1_000.0)
    assert store.tasks.claim("t1", 0, config.labourer("w"), 1_000.0)  # its lease ended long ago
    summary = scavenger_entry.lambda_handler({}, RunsOut(1))
    assert (summary["killed"], summary["alerted"]) == (1, 1)
    lines = emf(capsys)
    assert emf_values(lines, metrics.DEAD, Labourer="w") == [1] == [states(store)[TaskState.DEAD]]
    assert emf_values(lines, metrics.DEAD) == [1]  # the roll-up the alarm watches
    assert emf_values(lines, metrics.ERRORS, Component="scavenger") == [0]


def test_worker_assistant_handler_completes_hands_off_and_logs(deployed, capsys):
    store = deployed
    config = load_config("worker_assistant")
    store.batch.create_many([NewTask("t1", "w", {}), NewTask("t2", "w", {})], 1_000.0)
    task = store.tasks.claim("t1", 0, config.labourer("w"), 1_000.0)
    _, invocation = split_worker_event(worker_event(task))
    event = Report(Action.COMPLETED, invocation).to_event()
    response = assistant_entry.lambda_handler(event, None)
    assert (response["outcome"], response["state"], response["chained"]) == ("applied", "completed", 1)
    lines = emf(capsys)
    assert emf_values(lines, metrics.COMPLETED, Labourer="w") == [1]
    assert emf_values(lines, metrics.INVOKED, Labourer="w") == [1]  # the hand-off started t2
    assert states(store) == Counter({TaskState.COMPLETED: 1, TaskState.INVOKED: 1})
    assert assistant_entry.lambda_handler(event, None)["outcome"] == "duplicate"
    assert emf(capsys) == []  # nothing changed, nothing counted


def test_entry_points_stay_thin():
    for module in ("scheduler", "orchestrator", "scavenger", "worker_assistant"):
        source = Path(importlib.import_module(f"essentials.{module}").__file__).read_text()
        handler_lines = [line for line in source.split("def lambda_handler")[1].splitlines() if line.strip()]
        assert len(handler_lines) <= 6, module


def _denying_lambda_client():
    """A real boto3 Lambda client whose Invoke gets the answer AWS gives a role without
    lambda:InvokeFunction on the function (HTTP 403, AccessDeniedException); moto enforces no IAM
    and accepts any asynchronous invoke."""
    from botocore.awsrequest import AWSResponse

    client = boto3.client("lambda")

    def deny(request, **kwargs):
        body = json.dumps({"Type": "User", "Message": "User: arn:aws:sts::123456789012:assumed-role/o "
                           "is not authorized to perform: lambda:InvokeFunction on resource: "
                           f"arn:aws:lambda:us-east-1:123456789012:function:{WORKER}:live"}).encode()
        return AWSResponse(request.url, 403, {"x-amzn-ErrorType": "AccessDeniedException"}, _Raw(body))

    client.meta.events.register("before-send.lambda.Invoke", deny)
    return client


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def test_a_refused_invoke_is_an_essential_error_and_the_task_stays_queued(deployed, capsys, monkeypatch):
    """A worker outside the stack's ``LabourerFunctionArns`` (e.g. configured with a ``:live``
    qualifier) is refused on every invoke: its task goes back to the queue and no task metric
    moves, so the refusal is counted in EssentialErrors, the roll-up the stack alarms on."""
    from sosw_core.adapters.invokers.lambda_ import LambdaInvoker

    store = deployed
    monkeypatch.setenv("SOSW_CONFIG_JSON", json.dumps({"labourers": [{**LABOURERS[0], "arn": f"{WORKER}:live"}]}))
    monkeypatch.setattr("sosw_core.wiring.lambda_invoker", lambda: LambdaInvoker(_denying_lambda_client()))
    store.batch.create_many([NewTask("t1", "w", {})], SystemClock().now() - 30)
    summary = orchestrator_entry.lambda_handler({}, RunsOut(1))
    assert summary["invoked"] == {"w": 0}
    assert states(store) == Counter({TaskState.QUEUED: 1})  # given back, attempt not counted
    assert store.tasks.get("t1").attempts == 0
    lines = emf(capsys)
    assert emf_values(lines, metrics.ERRORS, Component="orchestrator") == [1]
    assert emf_values(lines, metrics.ERRORS) == [1]  # the roll-up EssentialErrorsAlarm watches
    assert emf_values(lines, metrics.INVOKED, Labourer="w") == [0]


def test_warm_entry_points_take_a_changed_ssm_config_within_the_check_interval(deployed, monkeypatch):
    """Config in SSM (``SOSW_CONFIG_SSM_PARAMETER``): a warm Scheduler refuses a labourer until the
    parameter names it, then ingests for it once ``SOSW_CONFIG_CHECK_SECONDS`` passed; the warm
    Orchestrator then dispatches it too."""
    from essentials import scheduler as scheduler_entry
    from sosw_core.errors import InvalidJob

    store = deployed
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/sosw-core/test/config", Type="String", Value=json.dumps({"labourers": LABOURERS}))
    monkeypatch.delenv("SOSW_CONFIG_JSON")
    monkeypatch.setenv("SOSW_CONFIG_SSM_PARAMETER", "/sosw-core/test/config")
    monkeypatch.setenv("SOSW_CONFIG_CHECK_SECONDS", "0")  # check at every call
    monkeypatch.setattr(scheduler_entry, "_ingestor", scheduler_entry._ingestor.fresh())
    job = {"lambda_name": "new", "numbers": [1]}
    with pytest.raises(InvalidJob, match="no labourer named 'new'"):
        scheduler_entry.lambda_handler(job, RunsOut(5))
    assert orchestrator_entry.lambda_handler({}, RunsOut(1))["invoked"] == {"w": 0}
    new = {**LABOURERS[0], "id": "new"}
    ssm.put_parameter(Name="/sosw-core/test/config", Type="String", Overwrite=True,
                      Value=json.dumps({"labourers": [*LABOURERS, new]}))
    assert scheduler_entry.lambda_handler(job, RunsOut(5))["state"] == "done"
    assert orchestrator_entry.lambda_handler({}, RunsOut(1))["invoked"] == {"w": 0, "new": 1}
    assert states(store) == Counter({TaskState.INVOKED: 1})
    assert scheduler_entry._ingestor.builds == 2 and orchestrator_entry._orchestrator.builds == 2

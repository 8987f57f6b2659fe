"""sosw 0.7.51's essentials wired the way its Lambdas are, but in one process.

Import this only after ``bench.meter.Meter.install()``: sosw creates its boto3 clients while its
classes are constructed. Each essential is built once and called repeatedly, as a warm Lambda
container would; ``lambda_call`` sets the Lambda context first, as sosw's ``lambda_handler`` does.
Config comes through ``custom_config``; sosw still queries its ``config`` table at construction.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sosw.app import global_vars
from sosw.orchestrator import Orchestrator
from sosw.scavenger import Scavenger
from sosw.scheduler import Scheduler
from sosw.worker import Worker
from sosw.worker_assistant import WorkerAssistant

from bench.fake_aws import ACCOUNT, FakeAws, Invocation

LAMBDA_TIMEOUT_SECONDS = 900
WORKER_ASSISTANT = "sosw_worker_assistant"


@dataclass
class LambdaContext:
    """What sosw reads from a Lambda context."""

    function_name: str
    deadline: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"2025/01/01/[$LATEST]{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


def lambda_call(function_name: str, processor: Callable[[dict], Any], event: dict) -> Any:
    """Call ``processor`` as sosw's lambda_handler would, with a fresh 15-minute context."""
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function_name
    global_vars.lambda_context = LambdaContext(function_name, time.monotonic() + LAMBDA_TIMEOUT_SECONDS)
    return processor(event)


def labourer_id(i: int) -> str:
    return f"bench_worker_{i}"


def labourers_config(count: int, max_simultaneous: int) -> dict[str, dict[str, Any]]:
    """Labourers with one CloudWatch health metric each (the fake reports it healthy)."""
    return {
        labourer_id(i): {
            "arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{labourer_id(i)}",
            "max_simultaneous_invocations": max_simultaneous,
            "health_metrics": {
                "DbCpu": {
                    "details": {"MetricName": "CPUUtilization", "Namespace": "AWS/RDS", "Period": 60,
                                "Statistics": ["Average"],
                                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "bench"}]},
                    "feelings": {3: 50, 4: 25},
                    "feeling_comparison_operator": "le",
                },
            },
        }
        for i in range(count)
    }


def task_config(labourers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"task_config": {"labourers": labourers}}


def _construct(function_name: str, factory: Callable[[], Any]) -> Any:
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function_name
    global_vars.lambda_context = LambdaContext(function_name, time.monotonic() + LAMBDA_TIMEOUT_SECONDS)
    return factory()


def make_scheduler(labourers: dict[str, dict[str, Any]]) -> Scheduler:
    schema = {"chunkable_attrs": [("section", {})]}
    config = {**task_config(labourers), "job_schema": schema, "job_schema_variants": {"default": schema}}
    return _construct("sosw_scheduler", lambda: Scheduler(custom_config=config))


def make_orchestrator(labourers: dict[str, dict[str, Any]]) -> Orchestrator:
    return _construct("sosw_orchestrator", lambda: Orchestrator(custom_config=task_config(labourers)))


def make_scavenger(labourers: dict[str, dict[str, Any]]) -> Scavenger:
    return _construct("sosw_scavenger", lambda: Scavenger(custom_config=task_config(labourers)))


def make_worker_assistant() -> WorkerAssistant:
    return _construct(WORKER_ASSISTANT, lambda: WorkerAssistant(custom_config={}))


class NoopWorker(Worker):
    """A Labourer that does nothing; sosw's Worker base then asks the WorkerAssistant to close the task."""


def make_worker(function_name: str) -> NoopWorker:
    return _construct(function_name, lambda: NoopWorker(custom_config={}))


@dataclass
class LocalLambdas:
    """Runs recorded invocations locally: the no-op Labourer, then the WorkerAssistant it calls."""

    fakes: FakeAws
    assistant: WorkerAssistant
    workers: dict[str, NoopWorker] = field(default_factory=dict)
    worker_runs: int = 0
    completions: int = 0

    def run_workers(self, invocations: list[Invocation]) -> None:
        for invocation in invocations:
            name = invocation.function_name.rsplit(":", 1)[-1]
            if name == WORKER_ASSISTANT:
                raise RuntimeError("run_workers got a WorkerAssistant call; use run_assistant")
            worker = self.workers.get(name)
            if worker is None:
                worker = self.workers[name] = make_worker(name)
            lambda_call(name, worker, invocation.payload)
            self.worker_runs += 1

    def run_assistant(self) -> None:
        for invocation in self.fakes.take_invokes():
            if invocation.function_name != WORKER_ASSISTANT:
                raise RuntimeError(f"unexpected invocation of {invocation.function_name}")
            lambda_call(WORKER_ASSISTANT, self.assistant, invocation.payload)
            self.completions += 1

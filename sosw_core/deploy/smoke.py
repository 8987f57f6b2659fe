"""``sosw-core smoke``: a real-AWS smoke run of one stage, from deploy to tear-down.

1. deploy the main stack ``sosw-core-<stage>`` with one labourer, ``example``: the example
   worker, named ``sosw-core-<stage>-example-worker``, in ``LabourerFunctionArns`` (its ARN
   built from the caller's account and the region, before the worker exists);
2. deploy the example worker's stack (``cloudformation/example-worker.yaml``) on the layer the
   main stack wrote to SSM and the functions zip it uploaded;
3. send a job of ``tasks`` tasks to the Scheduler (a synchronous invoke: its answer says the
   job was ingested, or continued in further invocations);
4. wait until every task is closed (COMPLETED or DEAD) or ``wait_seconds`` passed, printing the
   counts as they change;
5. tear down (unless ``keep``): both stacks, then the two tables the main stack retains on
   delete (this stage's data only). The zips stay in the bucket (content-addressed).

Clients, the task counter, the clock and the sleep are injected; every line for the user goes
to ``say``. What only a real account shows is listed in docs/deploying.md ("Smoke run").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sosw_core.clock import Clock
from sosw_core.deploy.deploy import KEY_PREFIX, Deployer, DeployError, DeployRequest, DeployResult
from sosw_core.deploy.package import Package

logger = logging.getLogger(__name__)

LABOURER = "example"
CLOSED = ("completed", "dead")
Counter = Callable[[Mapping[str, str], str], dict[str, int]]  # (main stack outputs, labourer) -> state counts


@dataclass(frozen=True)
class SmokeRequest:
    stage: str
    bucket: str
    template: Path  # cloudformation/sosw-core.yaml
    worker_template: Path  # cloudformation/example-worker.yaml
    tasks: int = 100
    wait_seconds: float = 900.0
    poll_seconds: float = 10.0
    keep: bool = False  # leave both stacks and the tables

    @property
    def worker_name(self) -> str:
        return f"{KEY_PREFIX}-{self.stage}-example-worker"

    def config_document(self) -> str:
        """One labourer, the example worker; its jobs split on ``sections`` (one task per section)."""
        return json.dumps({
            "labourers": [{"id": LABOURER, "arn": self.worker_name, "max_simultaneous_invocations": 5,
                           "max_duration_seconds": 120, "max_attempts": 3}],
            "scheduler": {"job_schema_variants": {"default": ["section"]}}}, separators=(",", ":"))

    def job(self) -> dict[str, Any]:
        """``tasks`` tasks, each summing 1..10 (result ``{"sum": 55}``)."""
        return {"lambda_name": LABOURER, "sections": [f"s{i:04d}" for i in range(self.tasks)],
                "isolate_sections": True, "numbers": list(range(1, 11))}


@dataclass
class SmokeReport:
    stage: str
    steps: list[str] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)  # the Scheduler's answer
    counts: dict[str, int] = field(default_factory=dict)  # tasks per state at the end
    waited_seconds: float = 0.0
    torn_down: bool = False

    @property
    def ok(self) -> bool:
        return self.counts.get("completed", 0) == self.job.get("total", -1) and not self.counts.get("dead")


class Smoke:
    def __init__(self, deployer: Deployer, *, sts: Any, lambda_client: Any, dynamodb: Any, count: Counter,
                 clock: Clock, sleep: Callable[[float], None], say: Callable[[str], None] = print):
        self.deployer = deployer
        self.sts = sts
        self.lambda_client = lambda_client
        self.dynamodb = dynamodb
        self.count = count
        self.clock = clock
        self.sleep = sleep
        self.say = say

    def run(self, request: SmokeRequest, package: Package) -> SmokeReport:
        report = SmokeReport(request.stage)
        main: DeployResult | None = None
        try:
            main = self._deploy(request, package, report)
            self._submit(request, main, report)
            self._wait(request, main, report)
        finally:
            if not request.keep:
                self.tear_down(request, main, report)
        self.say(f"smoke {request.stage}: {'OK' if report.ok else 'FAILED'}: "
                 f"{report.counts.get('completed', 0)} of {report.job.get('total', request.tasks)} tasks completed, "
                 f"{report.counts.get('dead', 0)} dead, in {report.waited_seconds:.0f} s")
        return report

    # -- steps -----------------------------------------------------------------------------
    def _deploy(self, request: SmokeRequest, package: Package, report: SmokeReport) -> DeployResult:
        identity = self.sts.get_caller_identity()
        partition = identity["Arn"].split(":")[1]
        region = self.lambda_client.meta.region_name
        worker_arn = f"arn:{partition}:lambda:{region}:{identity['Account']}:function:{request.worker_name}"
        self._step(report, f"deploy stack {KEY_PREFIX}-{request.stage} (labourer {LABOURER}: {worker_arn})")
        main = self.deployer.deploy(DeployRequest(
            stage=request.stage, bucket=request.bucket, template=request.template,
            parameters={"LabourerFunctionArns": worker_arn, "ConfigDocument": request.config_document()}),
            package)
        self._step(report, f"stack {main.stack_name}: {main.action} ({main.status})")
        worker = self.deployer.deploy_stack(DeployRequest(
            stage=request.stage, bucket=request.bucket, template=request.worker_template,
            stack_name=request.worker_name,
            parameters={"CoreStackName": main.stack_name, "WorkerName": request.worker_name,
                        "CoreLayerArn": main.outputs["CoreLayerArnParameterName"],
                        "CodeBucket": request.bucket, "FunctionKey": main.function_key}))
        self._step(report, f"stack {worker.stack_name}: {worker.action} ({worker.status})")
        return main

    def _submit(self, request: SmokeRequest, main: DeployResult, report: SmokeReport) -> None:
        scheduler = main.outputs["SchedulerFunctionName"]
        self._step(report, f"send a job of {request.tasks} tasks to {scheduler}")
        response = self.lambda_client.invoke(FunctionName=scheduler, InvocationType="RequestResponse",
                                             Payload=json.dumps(request.job()).encode())
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise DeployError(f"the Scheduler refused the job: {body}")
        if not isinstance(body, dict):
            raise DeployError(f"the Scheduler answered {body!r}")
        report.job = body
        self._step(report, f"job {body.get('job_id')}: {body.get('state')}, {body.get('total')} tasks")

    def _wait(self, request: SmokeRequest, main: DeployResult, report: SmokeReport) -> None:
        started = self.clock.now()
        total = int(report.job.get("total") or request.tasks)
        last: dict[str, int] | None = None
        while True:
            counts = {state: n for state, n in self.count(main.outputs, LABOURER).items() if n}
            report.counts, report.waited_seconds = counts, self.clock.now() - started
            if counts != last:
                shown = ", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "no tasks yet"
                self._step(report, f"after {report.waited_seconds:.0f} s: {shown}")
                last = counts
            if sum(counts.get(state, 0) for state in CLOSED) >= total:
                return
            if report.waited_seconds >= request.wait_seconds:
                self._step(report, f"gave up waiting after {request.wait_seconds:.0f} s")
                return
            self.sleep(request.poll_seconds)

    def tear_down(self, request: SmokeRequest, main: DeployResult | None, report: SmokeReport) -> None:
        """Both stacks, then the tables the main stack retained; each step is attempted."""
        problems = []
        for stack in (request.worker_name, f"{KEY_PREFIX}-{request.stage}"):
            try:
                if self.deployer.delete(stack):
                    self._step(report, f"stack {stack}: deleted")
            except DeployError as exc:
                problems.append(str(exc))
        tables = [main.outputs[key] for key in ("TasksTableName", "JobsTableName")
                  if main is not None and key in main.outputs]
        for table in tables:
            try:
                self.dynamodb.delete_table(TableName=table)
                self._step(report, f"table {table}: deleted")
            except self.dynamodb.exceptions.ResourceNotFoundException:
                self._step(report, f"table {table}: already gone")
        report.torn_down = not problems
        if problems:
            raise DeployError("tear-down incomplete: " + "; ".join(problems))

    def _step(self, report: SmokeReport, line: str) -> None:
        report.steps.append(line)
        self.say(line)

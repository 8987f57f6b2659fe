"""``sosw-core deploy --smoke`` on moto, as far as moto goes.

moto creates both stacks (the main one and the example worker's, which resolves the layer from
SSM and imports the main stack's exports), answers STS, and keeps the tables; its Lambda does
not run code. So the Scheduler's synchronous invoke is run here in-process, by the real entry
point with the environment moto holds for that function, and the tasks it writes are counted
by the smoke's own counter. Nothing invokes the workers: the run waits, gives up, reports the
100 tasks as queued and tears everything down. docs/deploying.md lists what only a real account
checks (the workers running, the hand-offs, the alarms).
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from essentials import scheduler as scheduler_entry
from sosw_core.cli.deploy import count_tasks
from sosw_core.clock import FixedClock
from sosw_core.deploy.deploy import Deployer
from sosw_core.deploy.package import Package, build_function_zip, source_root, write_zip
from sosw_core.deploy.smoke import Smoke, SmokeRequest

ROOT = source_root()
BUCKET = "sosw-smoke-test"
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")


def moto_gaps() -> None:
    """moto resolves an SSM-typed parameter's Default even when a value is given (CloudFormation
    does not): the example worker's default, /sosw-core/dev/layer-arn, must exist."""
    boto3.client("ssm").put_parameter(Name="/sosw-core/dev/layer-arn", Type="String", Value="unused")


class InProcessLambda:
    """moto's Lambda client, except that an invoke of the Scheduler runs its entry point here with
    the environment the stack gave the function (moto keeps it but runs no code)."""

    def __init__(self, client, monkeypatch):
        self.client, self.monkeypatch, self.meta = client, monkeypatch, client.meta

    def invoke(self, FunctionName, InvocationType, Payload):
        config = self.client.get_function_configuration(FunctionName=FunctionName)
        assert config["Handler"] == "essentials/scheduler.lambda_handler"
        for key, value in config["Environment"]["Variables"].items():
            self.monkeypatch.setenv(key, value)
        self.monkeypatch.setattr(scheduler_entry, "_ingestor", scheduler_entry._ingestor.fresh())
        self.monkeypatch.setattr(scheduler_entry, "setup_lambda_logging", lambda service: None)
        body = scheduler_entry.lambda_handler(json.loads(Payload), None)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}


@pytest.fixture
def package(tmp_path) -> Package:
    layer = write_zip({"python/sosw_core/__init__.py": b""}, tmp_path / "layer.zip")
    return Package(layer=layer, function=build_function_zip(ROOT, tmp_path / "functions.zip"))


def test_smoke_deploys_both_stacks_submits_100_tasks_reports_and_tears_down(package, monkeypatch):
    with mock_aws(config={"lambda": {"use_docker": False}}):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        moto_gaps()
        cfn, dynamodb = boto3.client("cloudformation"), boto3.client("dynamodb")
        clock = FixedClock()
        lines: list[str] = []
        deployer = Deployer(cfn, boto3.client("s3"), clock, clock.advance, poll_seconds=1)
        smoke = Smoke(deployer, sts=boto3.client("sts"), lambda_client=InProcessLambda(boto3.client("lambda"), monkeypatch),
                      dynamodb=dynamodb, count=lambda outputs, labourer: count_tasks(outputs, labourer, "us-east-1"),
                      clock=clock, sleep=clock.advance, say=lines.append)
        request = SmokeRequest(stage="smoke", bucket=BUCKET, template=ROOT / "cloudformation" / "sosw-core.yaml",
                               worker_template=ROOT / "cloudformation" / "example-worker.yaml",
                               wait_seconds=30, poll_seconds=10)
        report = smoke.run(request, package)

        assert report.job["state"] == "done" and report.job["total"] == 100
        assert report.counts == {"queued": 100}  # moto runs no worker: nothing got further
        assert not report.ok and report.torn_down
        assert "stack sosw-core-smoke: created (CREATE_COMPLETE)" in lines
        assert "stack sosw-core-smoke-example-worker: created (CREATE_COMPLETE)" in lines
        assert any("function:sosw-core-smoke-example-worker" in line for line in lines)  # the IAM list
        assert "after 0 s: queued 100" in lines and "gave up waiting after 30 s" in lines
        assert lines[-1] == "smoke smoke: FAILED: 0 of 100 tasks completed, 0 dead, in 30 s"
        live = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
        assert live == []
        # the retained tables are deleted too; moto's own table names drift from the stack's
        # outputs (it re-evaluates Ref), so what is checked here is that both were asked for
        tables = [line for line in lines if line.startswith("table ")]
        assert [line.split("-")[3] for line in tables] == ["TasksTable", "JobsTable"]


def test_smoke_keep_leaves_everything_in_place(package, monkeypatch):
    with mock_aws(config={"lambda": {"use_docker": False}}):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        moto_gaps()
        clock = FixedClock()
        deployer = Deployer(boto3.client("cloudformation"), boto3.client("s3"), clock, clock.advance, poll_seconds=1)
        smoke = Smoke(deployer, sts=boto3.client("sts"), lambda_client=InProcessLambda(boto3.client("lambda"), monkeypatch),
                      dynamodb=boto3.client("dynamodb"),
                      count=lambda outputs, labourer: count_tasks(outputs, labourer, "us-east-1"),
                      clock=clock, sleep=clock.advance, say=lambda line: None)
        request = SmokeRequest(stage="smoke", bucket=BUCKET, template=ROOT / "cloudformation" / "sosw-core.yaml",
                               worker_template=ROOT / "cloudformation" / "example-worker.yaml",
                               tasks=5, wait_seconds=0, keep=True)
        report = smoke.run(request, package)
        assert report.counts == {"queued": 5} and not report.torn_down
        assert len(boto3.client("dynamodb").list_tables()["TableNames"]) == 2

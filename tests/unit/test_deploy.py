"""``sosw-core deploy`` against moto: zips uploaded by content, stack created/updated, events shown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sosw_core.cli import main as cli_main
from sosw_core.clock import FixedClock
from sosw_core.deploy.deploy import Deployer, DeployError, DeployRequest, StackEvent, artifact_key
from sosw_core.deploy.package import Package, build_function_zip, build_package, source_root, write_zip

ROOT = source_root()
TEMPLATE = ROOT / "cloudformation" / "sosw-core.yaml"
BUCKET = "sosw-deploy-test"

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")  # moto gaps, see test_cloudformation


def main(argv: list[str]) -> int:
    """``sosw-core`` with this command module offered (whether or not COMMAND_MODULES lists it yet)."""
    modules = cli_main.COMMAND_MODULES
    if "sosw_core.cli.deploy" not in modules:
        modules = (*modules, "sosw_core.cli.deploy")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_main, "COMMAND_MODULES", modules)
        return cli_main.main(argv)


@pytest.fixture
def package(tmp_path) -> Package:
    """The real function zip and a small stand-in layer (the real one needs pip)."""
    layer = write_zip({"python/sosw_core/__init__.py": b""}, tmp_path / "layer.zip")
    return Package(layer=layer, function=build_function_zip(ROOT, tmp_path / "functions.zip"))


@pytest.fixture
def aws():
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield boto3.client("cloudformation"), boto3.client("s3")


def _deployer(cfn, s3, events: list[StackEvent], **kwargs) -> Deployer:
    clock = FixedClock()
    return Deployer(cfn, s3, clock, clock.advance, on_event=events.append,
                    poll_seconds=1, **kwargs)


def test_deploy_creates_the_stack_and_reports_its_events(aws, package):
    cfn, s3 = aws
    events: list[StackEvent] = []
    result = _deployer(cfn, s3, events).deploy(DeployRequest(stage="dev", bucket=BUCKET, template=TEMPLATE), package)
    assert (result.stack_name, result.action, result.status) == ("sosw-core-dev", "created", "CREATE_COMPLETE")
    assert result.outputs["TasksTableName"].startswith("sosw-core-dev-TasksTable-")  # named by CloudFormation
    assert result.layer_key == f"sosw-core/dev/layer-{package.layer.sha256}.zip"
    for key, artifact in ((result.layer_key, package.layer), (result.function_key, package.function)):
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == artifact.path.read_bytes()
    assert [(e.logical_id, e.status) for e in events][-1] == ("sosw-core-dev", "CREATE_COMPLETE")
    assert len({(e.timestamp, e.logical_id, e.status) for e in events}) == len(events)  # each once
    assert boto3.client("dynamodb").describe_table(TableName=result.outputs["TasksTableName"])["Table"]["TableName"]


def test_update_keeps_previous_parameters_and_shows_only_new_events(aws, package, tmp_path):
    cfn, s3 = aws
    first: list[StackEvent] = []
    request = DeployRequest(stage="dev", bucket=BUCKET, template=TEMPLATE,
                            parameters={"ConfigDocument": '{"labourers": []}'})
    _deployer(cfn, s3, first).deploy(request, package)
    newer = write_zip({"python/sosw_core/__init__.py": b"# v2\n"}, tmp_path / "layer2.zip")
    second: list[StackEvent] = []
    result = _deployer(cfn, s3, second).deploy(
        DeployRequest(stage="dev", bucket=BUCKET, template=TEMPLATE), Package(newer, package.function))
    assert (result.action, result.status) == ("updated", "UPDATE_COMPLETE")
    assert [e.status for e in second] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    params = {p["ParameterKey"]: p["ParameterValue"]
              for p in cfn.describe_stacks(StackName="sosw-core-dev")["Stacks"][0]["Parameters"]}
    assert params["ConfigDocument"] == '{"labourers": []}'  # UsePreviousValue, not the default
    assert params["LayerKey"] == artifact_key("dev", "layer", newer)


class _NoChangeCloudFormation:
    """moto applies an identical update; AWS refuses it with this error, which deploy must accept."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def update_stack(self, **kwargs):
        raise ClientError({"Error": {"Code": "ValidationError", "Message": "No updates are to be performed."}},
                          "UpdateStack")


def test_unchanged_stack_is_not_an_error(aws, package):
    cfn, s3 = aws
    request = DeployRequest(stage="dev", bucket=BUCKET, template=TEMPLATE)
    _deployer(cfn, s3, []).deploy(request, package)
    events: list[StackEvent] = []
    result = _deployer(_NoChangeCloudFormation(cfn), s3, events).deploy(request, package)
    assert (result.action, result.status) == ("unchanged", "CREATE_COMPLETE")
    assert events == []


def test_invalid_stage_is_refused_before_any_call(aws, package):
    cfn, s3 = aws
    with pytest.raises(DeployError, match="stage"):
        _deployer(cfn, s3, []).deploy(DeployRequest(stage="Dev_1", bucket=BUCKET, template=TEMPLATE), package)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


class _FailingStack:
    """A stack that rolls back: describe_stacks / describe_stack_events as CloudFormation answers."""

    def __init__(self):
        self.polls = 0
        at = datetime(2024, 1, 1, tzinfo=UTC)
        self.events = [  # newest first, as the API pages them
            {"EventId": "3", "Timestamp": at, "LogicalResourceId": "s", "ResourceStatus": "ROLLBACK_COMPLETE"},
            {"EventId": "2", "Timestamp": at, "LogicalResourceId": "TasksTable", "ResourceType": "AWS::DynamoDB::Table",
             "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Table already exists"},
            {"EventId": "1", "Timestamp": at, "LogicalResourceId": "s", "ResourceStatus": "CREATE_IN_PROGRESS"},
        ]

    def describe_stacks(self, StackName):
        self.polls += 1
        status = "CREATE_IN_PROGRESS" if self.polls == 1 else "ROLLBACK_COMPLETE"
        return {"Stacks": [{"StackName": "s", "StackStatus": status}]}

    def get_paginator(self, name):
        visible = self.events[2:] if self.polls == 1 else self.events

        class Pages:
            def paginate(self, StackName):
                return [{"StackEvents": visible}]
        return Pages()


def test_wait_reports_the_failure_reason():
    events: list[StackEvent] = []
    deployer = _deployer(_FailingStack(), None, events)
    with pytest.raises(DeployError, match="ROLLBACK_COMPLETE: TasksTable Table already exists"):
        deployer.wait("s")
    assert [e.status for e in events] == ["CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_COMPLETE"]


# -- the CLI -------------------------------------------------------------------------------------
@pytest.fixture
def offline(monkeypatch):
    """No credentials, no region, and any boto3 session or client is a test failure."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

    def no_aws(*args, **kwargs):
        raise AssertionError("the dry run tried to use AWS")

    monkeypatch.setattr(boto3, "Session", no_aws)
    monkeypatch.setattr(boto3, "client", no_aws)


def test_cli_dry_run_works_offline_and_prints_what_would_be_deployed(offline, tmp_path, capsys):
    assert main(["deploy", "--stage", "dev", "--dry-run", "--out", str(tmp_path / "build"),
                 "-p", "LabourerFunctionArns=arn:aws:lambda:us-east-1:123456789012:function:w1"]) == 0
    out = capsys.readouterr().out
    # the zips a deploy would upload, under the keys it would use (the same bytes: built twice)
    again = build_package(ROOT, tmp_path / "again")
    for kind, artifact in (("layer", again.layer), ("functions", again.function)):
        key = f"sosw-core/dev/{kind}-{artifact.sha256}.zip"
        assert f"-> s3://<bucket>/{key}" in out
        assert (tmp_path / "build" / artifact.path.name).read_bytes() == artifact.path.read_bytes()
    lines = out.splitlines()
    assert "  Stage = dev" in lines and "  LabourerFunctionArns = arn:aws:lambda:us-east-1:123456789012:function:w1" in lines
    for template in ("sosw-core.yaml", "example-worker.yaml"):
        at = lines.index(f"template {ROOT / 'cloudformation' / template}:")
        assert lines[at + 2] == "  cfn-lint: 0 finding(s)"
    assert "4 AWS::Lambda::Function" in out and "2 AWS::DynamoDB::Table" in out
    assert lines[-1] == "dry run: OK"


def test_cli_dry_run_names_every_bad_parameter(offline, tmp_path, capsys):
    config = '{"labourers": [{"id": "w", "arn": "fn", "max_simultaneous": 5}]}'
    code = main(["deploy", "--stage", "dev", "--dry-run", "--out", str(tmp_path), "-p", "Architecture=sparc",
                 "-p", "OrchestratorTimeout=5", "-p", "SchedulerMemory=lots", "-p", "Nope=1",
                 "-p", f"ConfigDocument={config}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Architecture: 'sparc' is not one of ['arm64', 'x86_64']" in err
    assert "OrchestratorTimeout: 5 is below the minimum 20" in err
    assert "SchedulerMemory: 'lots' is not a number" in err
    assert "Nope: not a parameter of the template" in err
    assert "ConfigDocument: config labourers[0].max_simultaneous (from parameter ConfigDocument): unknown key" in err
    assert err.splitlines()[-1] == "dry run: FAILED"


def test_cli_dry_run_fails_on_an_invalid_template(offline, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      Nope: 1\n")
    assert main(["deploy", "--stage", "dev", "--dry-run", "--template", str(broken), "--out", str(tmp_path)]) == 1
    assert "Nope" in capsys.readouterr().err


def test_cli_deploy_refuses_before_uploading_when_the_checks_fail(aws, package, capsys):
    cfn, s3 = aws
    folder = package.layer.path.parent
    assert main(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", str(folder),
                 "-p", "ScheduleState=sometimes"]) == 1
    assert "ScheduleState: 'sometimes' is not one of" in capsys.readouterr().err
    assert cfn.list_stacks()["StackSummaries"] == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_cli_deploy_prints_the_event_table(aws, package, capsys):
    folder = package.layer.path.parent
    code = main(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", str(folder),
                 "-p", "LabourerFunctionArns=arn:aws:lambda:us-east-1:123456789012:function:w1"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TIME", "LOGICAL", "ID", "STATUS", "REASON"]
    assert any(line.split()[1:3] == ["sosw-core-dev", "CREATE_COMPLETE"] for line in lines[1:])
    assert "stack sosw-core-dev: created (CREATE_COMPLETE)" in lines
    assert any(line.split()[0] == "TasksTableName" and line.split()[1].startswith("sosw-core-dev-TasksTable-")
               for line in lines if line.split())


def test_cli_deploy_needs_a_bucket_and_prebuilt_zips(aws, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SOSW_DEPLOY_BUCKET", raising=False)
    assert main(["deploy", "--stage", "dev", "--package-dir", str(tmp_path)]) == 1
    assert "--bucket" in capsys.readouterr().err
    assert main(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", str(tmp_path)]) == 1
    assert "layer.zip" in capsys.readouterr().err


def test_cli_package_builds_reproducible_zips(tmp_path, capsys, monkeypatch):
    import sosw_core.cli.deploy as cli

    def fake_build(root: Path, out: Path):
        layer = write_zip({"python/x.py": b""}, out / "layer.zip")
        return Package(layer=layer, function=build_function_zip(root, out / "functions.zip"))

    monkeypatch.setattr(cli, "build_package", fake_build)
    assert main(["package", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "functions.zip" in out and "sha256" in out
    assert zipfile.ZipFile(tmp_path / "functions.zip").namelist()


def test_missing_bucket_is_a_deploy_error(aws, package):
    cfn, s3 = aws
    with pytest.raises(DeployError, match="no-such-bucket"):
        _deployer(cfn, s3, []).deploy(DeployRequest(stage="dev", bucket="no-such-bucket", template=TEMPLATE), package)
    assert cfn.list_stacks()["StackSummaries"] == []


# -- labourers outside LabourerFunctionArns (issue 14, finding 5) --------------------------------
ARN_W = "arn:aws:lambda:us-east-1:123456789012:function:w"


@pytest.mark.parametrize(("resource", "function", "allowed"), [
    (ARN_W, "w", True),
    (ARN_W, ARN_W, True),
    (ARN_W, "w:live", False),  # an unqualified ARN covers unqualified invokes only
    (ARN_W, f"{ARN_W}:live", False),
    (f"{ARN_W}:*", "w:live", True),
    (f"{ARN_W}*", f"{ARN_W}:7", True),
    (ARN_W, "123456789012:function:w", True),
    (ARN_W, "210987654321:function:w", False),
    (ARN_W, "arn:aws:lambda:eu-west-1:123456789012:function:w", False),
    ("arn:aws:lambda:*:123456789012:function:w-*", "w-sum", True),
    ("arn:aws:lambda:us-east-1:123456789012:function:w?", "w2", True),
    (ARN_W, "w2", False),
    ("*", "anything:live", True),
])
def test_iam_resources_cover_labourer_functions_as_iam_matches_them(resource, function, allowed):
    from sosw_core.deploy.access import covers

    assert covers(resource, function) is allowed


def _config(*arns: str) -> str:
    return json.dumps({"labourers": [{"id": f"l{i}", "arn": arn} for i, arn in enumerate(arns)]})


def test_cli_dry_run_fails_naming_a_labourer_outside_labourer_function_arns(offline, tmp_path, capsys):
    code = main(["deploy", "--stage", "dev", "--dry-run", "--out", str(tmp_path),
                 "-p", f"LabourerFunctionArns={ARN_W}", "-p", f"ConfigDocument={_config('w', 'w:live')}"])
    assert code == 1
    err = capsys.readouterr().err
    assert "labourer 'l1': its function 'w:live' is not in LabourerFunctionArns" in err
    assert "labourer 'l0'" not in err and "ARN:*" in err
    assert main(["deploy", "--stage", "dev", "--dry-run", "--out", str(tmp_path),
                 "-p", f"LabourerFunctionArns={ARN_W},{ARN_W}:*",
                 "-p", f"ConfigDocument={_config('w', 'w:live')}"]) == 0


def test_cli_dry_run_compares_a_missing_list_with_the_template_default(offline, tmp_path, capsys):
    assert main(["deploy", "--stage", "dev", "--dry-run", "--out", str(tmp_path),
                 "-p", f"ConfigDocument={_config('w')}"]) == 1
    err = capsys.readouterr().err
    assert "labourer 'l0': its function 'w' is not in LabourerFunctionArns [(empty)]" in err
    assert "LabourerFunctionArns not given: compared with the template default" in err


def test_deploy_compares_a_new_config_with_the_stacks_labourer_list(aws, package, capsys):
    cfn, s3 = aws
    folder = str(package.layer.path.parent)
    assert main(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", folder,
                 "-p", f"LabourerFunctionArns={ARN_W}", "-p", f"ConfigDocument={_config('w')}"]) == 0
    capsys.readouterr()
    # the update passes only the config: its new labourer is checked against the stack's list
    assert main(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", folder,
                 "-p", f"ConfigDocument={_config('w', 'w:live')}"]) == 1
    assert "labourer 'l1': its function 'w:live' is not in LabourerFunctionArns" in capsys.readouterr().err
    [stack] = cfn.describe_stacks(StackName="sosw-core-dev")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"  # not updated


# -- one-line errors (issue 14, finding 11) ------------------------------------------------------
def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SOSW_DEPLOY_BUCKET"}
    base.update({"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                 "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", **env})
    return subprocess.run([sys.executable, "-m", "sosw_core.cli.main", *args], capture_output=True, text=True,
                          env=base, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("env", "expected"), [
    ({"AWS_DEFAULT_REGION": "us-east-1"}, "no usable AWS credentials"),
    ({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}, "no AWS region: pass --region"),
    ({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x",
      "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "cannot reach AWS"),
])
def test_deploy_without_credentials_region_or_network_is_one_line(package, env, expected):
    done = _cli(["deploy", "--stage", "dev", "--bucket", BUCKET, "--package-dir", str(package.layer.path.parent)],
                **env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("sosw-core: ") and expected in line


def test_deploy_with_an_unknown_profile_is_one_line(package):
    done = _cli(["deploy", "--stage", "dev", "--bucket", BUCKET, "--profile", "nope",
                 "--package-dir", str(package.layer.path.parent)])
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "nope" in line


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_deploy_without_bucket_says_so_in_one_line():
    base = {k: v for k, v in os.environ.items() if k != "SOSW_DEPLOY_BUCKET"}
    done = subprocess.run(["make", "-s", "deploy", "STAGE=dev", "BUCKET=", "STAMP="], capture_output=True,
                          text=True, cwd=ROOT, env=base, timeout=120)
    assert done.returncode != 0
    assert "usage:" not in done.stderr and "Traceback" not in done.stderr
    assert "sosw-core: --bucket (or $SOSW_DEPLOY_BUCKET) is needed to upload the zips" in done.stderr.splitlines()

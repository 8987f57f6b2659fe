"""Upload the artifacts and create or update the CloudFormation stack, watching its events.

Clients (CloudFormation, S3), the sleep and the clock are injected; nothing here prints:
stack events go to the ``on_event`` callback as they arrive (the CLI draws the table).

Event order: ``DescribeStackEvents`` pages newest first. Before an update we remember the newest
event id; afterwards every event newer than it (and not yet shown) is reported oldest first,
so each event appears exactly once and events of earlier deployments never do.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from sosw_core.clock import Clock
from sosw_core.deploy.package import Artifact, Package
from sosw_core.errors import SoswError

logger = logging.getLogger(__name__)

STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")  # as the template's Stage parameter
KEY_PREFIX = "sosw-core"
TEMPLATE_BODY_LIMIT = 51_200  # bytes; larger templates go through S3 (TemplateURL)
NO_UPDATES = "No updates are to be performed"
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
CAPABILITIES = ["CAPABILITY_IAM"]


class DeployError(SoswError):
    """The template is invalid, or the stack could not be created or updated."""


@dataclass(frozen=True)
class StackEvent:
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class DeployRequest:
    stage: str
    bucket: str
    template: Path
    parameters: Mapping[str, str] = field(default_factory=dict)  # overrides, e.g. LabourerFunctionArns
    stack_name: str | None = None

    @property
    def stack(self) -> str:
        return self.stack_name or f"{KEY_PREFIX}-{self.stage}"


@dataclass(frozen=True)
class DeployResult:
    stack_name: str
    action: str  # created | updated | unchanged
    status: str
    outputs: dict[str, str]
    layer_key: str
    function_key: str


@contextmanager
def aws_errors(doing: str) -> Iterator[None]:
    """AWS's and botocore's errors while ``doing`` something, as one-line DeployErrors.

    Without credentials, region or network, boto3 raises deep inside a call; the CLI shows a
    :class:`DeployError` as one line (``sosw-core: ...``, exit status 1), never a traceback.
    """
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise DeployError(f"{doing}: no usable AWS credentials ({exc}): pass --profile, or set AWS_PROFILE "
                          f"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from exc
    except NoRegionError as exc:
        raise DeployError(f"{doing}: no AWS region: pass --region or set AWS_DEFAULT_REGION") from exc
    except (EndpointConnectionError, BotocoreConnectionError) as exc:
        raise DeployError(f"{doing}: cannot reach AWS ({exc}): check the network and the region") from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise DeployError(f"{doing}: {code}: {_message(exc)}") from exc
    except BotoCoreError as exc:  # ProfileNotFound, a malformed config file, ...
        raise DeployError(f"{doing}: {exc}") from exc


def check_stage(stage: str) -> str:
    if not STAGE_PATTERN.match(stage):
        raise DeployError(f"stage {stage!r}: use 1-20 lower-case letters, digits or '-', starting with a letter")
    return stage


def artifact_key(stage: str, kind: str, artifact: Artifact) -> str:
    """Content-addressed: the same zip always lands on the same key, a new one never overwrites."""
    return f"{KEY_PREFIX}/{stage}/{kind}-{artifact.sha256}.zip"


def cfn_lint(template: Path, region: str | None = None) -> list[str] | None:
    """cfn-lint's findings (errors and warnings) as text; ``None`` if cfn-lint is not installed.

    ``region``: the region to check resource support in; default ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION``, else us-east-1 (cfn-lint's own default), so that an empty variable
    does not break linting.
    """
    try:
        from cfnlint.api import lint_file
        from cfnlint.config import ManualArgs
    except ModuleNotFoundError:
        return None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return [str(match) for match in lint_file(template, ManualArgs(regions=[region]))]


class Deployer:
    def __init__(self, cloudformation: Any, s3: Any, clock: Clock, sleep: Callable[[float], None], *,
                 on_event: Callable[[StackEvent], None] = lambda event: None,
                 poll_seconds: float = 5.0, timeout_seconds: float = 3600.0):
        self.cfn = cloudformation
        self.s3 = s3
        self.clock = clock
        self.sleep = sleep
        self.on_event = on_event
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    # -- deploy ----------------------------------------------------------------------------
    def upload(self, artifact: Artifact, bucket: str, key: str) -> bool:
        """Put the zip unless the key already holds it; True when uploaded."""
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            logger.info("s3://%s/%s already there", bucket, key)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise DeployError(f"cannot check s3://{bucket}/{key}: {_message(exc)}") from exc
        with artifact.path.open("rb") as body:
            try:
                self.s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")
            except ClientError as exc:
                raise DeployError(f"cannot upload s3://{bucket}/{key}: {_message(exc)}") from exc
        return True

    def deploy(self, request: DeployRequest, package: Package) -> DeployResult:
        check_stage(request.stage)
        layer_key = artifact_key(request.stage, "layer", package.layer)
        function_key = artifact_key(request.stage, "functions", package.function)
        self.upload(package.layer, request.bucket, layer_key)
        self.upload(package.function, request.bucket, function_key)
        wanted = {"Stage": request.stage, "CodeBucket": request.bucket, "LayerKey": layer_key,
                  "FunctionKey": function_key, **request.parameters}
        action, stack = self._apply(request.stack, self._template_argument(request), wanted)
        return self._result(request.stack, action, stack, layer_key, function_key)

    def deploy_stack(self, request: DeployRequest) -> DeployResult:
        """Create or update a stack of another template (a worker's) with ``request.parameters``
        only: no uploads, no Stage/LayerKey/FunctionKey added."""
        check_stage(request.stage)
        action, stack = self._apply(request.stack, self._template_argument(request), dict(request.parameters))
        return self._result(request.stack, action, stack, "", "")

    def delete(self, stack: str) -> bool:
        """Delete ``stack`` and wait until it is gone; False when there was no such stack."""
        existing = self._describe(stack)
        if existing is None:
            return False
        baseline = self._newest_event_id(stack)
        try:
            self.cfn.delete_stack(StackName=existing["StackId"])
        except ClientError as exc:
            raise DeployError(f"cannot delete stack {stack}: {_message(exc)}") from exc
        self.wait(existing["StackId"], baseline, success=frozenset({"DELETE_COMPLETE"}))
        return True

    def _apply(self, stack_name: str, template: Mapping[str, str],
               wanted: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        """Create or update ``stack_name``; (created | updated | unchanged, the stack as described)."""
        existing = self._describe(stack_name)
        if existing is not None and existing["StackStatus"] == "ROLLBACK_COMPLETE":
            raise DeployError(f"stack {stack_name} failed its creation (ROLLBACK_COMPLETE) and cannot "
                              f"be updated: delete it, then deploy again")
        if existing is None:
            try:
                response = self.cfn.create_stack(StackName=stack_name, Capabilities=CAPABILITIES,
                                                 Parameters=_parameters(wanted, ()), **template)
            except ClientError as exc:
                raise DeployError(f"cannot create stack {stack_name}: {_message(exc)}") from exc
            action, baseline = "created", None
        else:
            baseline = self._newest_event_id(stack_name)
            # Keep what the stack has (UsePreviousValue, not the template's default); a value equal
            # to the new default needs no carrying over, and a parameter the template dropped can't.
            defaults = self._declared_parameters(template)
            previous = [p["ParameterKey"] for p in existing.get("Parameters", [])
                        if p["ParameterKey"] in defaults
                        and p.get("ParameterValue") != defaults[p["ParameterKey"]]]
            try:
                response = self.cfn.update_stack(StackName=stack_name, Capabilities=CAPABILITIES,
                                                 Parameters=_parameters(wanted, previous), **template)
            except ClientError as exc:
                if NO_UPDATES not in _message(exc):
                    raise DeployError(f"cannot update stack {stack_name}: {_message(exc)}") from exc
                return "unchanged", existing
            action = "updated"
        return action, self.wait(response["StackId"], baseline)

    def wait(self, stack_id: str, baseline: str | None = None, *,
             success: frozenset[str] = SUCCESS) -> dict[str, Any]:
        """Report new events until the stack leaves ``*_IN_PROGRESS``; raise unless it ended in
        one of ``success``."""
        seen: set[str] = set()
        failures: list[StackEvent] = []
        deadline = self.clock.now() + self.timeout_seconds
        while True:
            stack = self._describe(stack_id)
            if stack is None:
                raise DeployError(f"stack {stack_id} disappeared while deploying")
            self._report_events(stack_id, baseline, seen, failures)
            status = stack["StackStatus"]
            if not status.endswith("_IN_PROGRESS"):
                if status not in success:
                    first = f": {failures[0].logical_id} {failures[0].reason}" if failures else ""
                    raise DeployError(f"stack {stack['StackName']} ended in {status}{first}")
                return stack
            if self.clock.now() > deadline:
                raise DeployError(f"stack {stack['StackName']} still {status} after {self.timeout_seconds:.0f} s")
            self.sleep(self.poll_seconds)

    def stack_parameters(self, stack: str) -> dict[str, str]:
        """The parameter values ``stack`` was last deployed with; {} when there is no such stack."""
        existing = self._describe(stack)
        if existing is None:
            return {}
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in existing.get("Parameters", [])}

    # -- internals -------------------------------------------------------------------------
    def _report_events(self, stack_id: str, baseline: str | None, seen: set[str],
                       failures: list[StackEvent]) -> None:
        """Emit the events not shown yet, oldest first; collect the failures among them."""
        fresh: list[dict[str, Any]] = []
        for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            stop = False
            for raw in page["StackEvents"]:
                if raw["EventId"] == baseline or raw["EventId"] in seen:
                    stop = True
                    break
                fresh.append(raw)
            if stop:
                break
        for raw in reversed(fresh):
            seen.add(raw["EventId"])
            event = StackEvent(timestamp=raw["Timestamp"], logical_id=raw.get("LogicalResourceId", ""),
                               resource_type=raw.get("ResourceType", ""), status=raw.get("ResourceStatus", ""),
                               reason=raw.get("ResourceStatusReason", ""))
            if event.status.endswith("_FAILED"):
                failures.append(event)
            self.on_event(event)

    def _declared_parameters(self, template: Mapping[str, str]) -> dict[str, str | None]:
        """The template's parameters and their defaults (``None``: no default)."""
        try:
            summary = self.cfn.get_template_summary(**template)
        except ClientError as exc:
            raise DeployError(f"invalid template: {_message(exc)}") from exc
        return {p["ParameterKey"]: p.get("DefaultValue") for p in summary.get("Parameters", [])}

    def _newest_event_id(self, stack: str) -> str | None:
        events = self.cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
        return events[0]["EventId"] if events else None

    def _describe(self, stack: str) -> dict[str, Any] | None:
        try:
            stacks = self.cfn.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if "does not exist" in _message(exc):
                return None
            raise DeployError(f"cannot describe stack {stack}: {_message(exc)}") from exc
        return stacks[0] if stacks else None

    def _template_argument(self, request: DeployRequest) -> dict[str, str]:
        body = request.template.read_bytes()
        if len(body) <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": body.decode()}
        key = f"{KEY_PREFIX}/{request.stage}/template-{hashlib.sha256(body).hexdigest()}.yaml"
        self.s3.put_object(Bucket=request.bucket, Key=key, Body=body)
        region = self.s3.meta.region_name
        return {"TemplateURL": f"https://{request.bucket}.s3.{region}.amazonaws.com/{key}"}

    def _result(self, stack_name: str, action: str, stack: dict[str, Any], layer_key: str,
                function_key: str) -> DeployResult:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return DeployResult(stack_name=stack_name, action=action, status=stack["StackStatus"],
                            outputs=outputs, layer_key=layer_key, function_key=function_key)


def _parameters(wanted: Mapping[str, str], previous: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """Given values, and UsePreviousValue for the stack's other parameters (not their defaults)."""
    params: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(wanted.items())]
    params += [{"ParameterKey": k, "UsePreviousValue": True} for k in sorted(previous) if k not in wanted]
    return params


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)

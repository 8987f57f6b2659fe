"""Answers for the AWS calls other than DynamoDB that sosw 0.7.51 makes, recorded, never sent.

Lambda ``Invoke`` calls are recorded in ``FakeAws.invokes`` (the workload driver decides whether to
run the invoked code locally); CloudWatch reports a healthy metric; Glue says the table is not in
its catalogue (as for a deployment without the optional crawler); SNS, S3, EventBridge, STS and
SSM answer minimally. Any other operation raises, so a new AWS dependency shows up at once.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Invocation:
    function_name: str
    invocation_type: str
    payload: dict[str, Any]


@dataclass
class FakeAws:
    """Callable as ``bench.meter.Fake``; keeps what was invoked."""

    function_timeout_seconds: int = 300
    healthy_metric_value: float = 10.0
    invokes: list[Invocation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take_invokes(self) -> list[Invocation]:
        """Hand over and forget the invocations recorded so far."""
        with self._lock:
            taken, self.invokes = self.invokes, []
        return taken

    def __call__(self, service: str, operation: str, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        handler = getattr(self, f"_{service.replace('-', '_')}_{operation}", None)
        if handler is None:
            raise NotImplementedError(f"no fake for {service}.{operation}; add one to bench/fake_aws.py")
        return handler(params)

    # -- Lambda -----------------------------------------------------------------------------
    def _lambda_Invoke(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        raw = params.get("Payload") or b"{}"
        payload = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        invocation_type = params.get("InvocationType", "RequestResponse")
        with self._lock:
            self.invokes.append(Invocation(params["FunctionName"], invocation_type, payload))
        return ok({"StatusCode": 202 if invocation_type == "Event" else 200})

    def _lambda_GetFunctionConfiguration(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = params["FunctionName"].rsplit(":", 1)[-1]
        return ok({"FunctionName": name, "Timeout": self.function_timeout_seconds,
                   "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"})

    # -- CloudWatch ---------------------------------------------------------------------------
    def _cloudwatch_GetMetricStatistics(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        stats = params.get("Statistics") or ["Average"]
        point: dict[str, Any] = {"Timestamp": datetime.datetime.now(datetime.UTC), "Unit": "Percent"}
        point.update({name: self.healthy_metric_value for name in stats})
        return ok({"Label": params.get("MetricName", ""), "Datapoints": [point]})

    # -- Glue (sosw's optional schema catalogue) -----------------------------------------------
    def _glue_GetTable(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return error(400, "EntityNotFoundException", f"Table {params.get('Name')} not found")

    # -- SNS, S3, EventBridge, STS, SSM -------------------------------------------------------
    def _sns_Publish(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"MessageId": str(uuid.uuid4())})

    def _s3_PutObject(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"ETag": '"0"'})

    def _s3_CopyObject(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"CopyObjectResult": {"ETag": '"0"'}})

    def _s3_DeleteObject(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({}, status=204)

    def _s3_HeadObject(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return error(404, "404", "Not Found")

    def _eventbridge_ListRules(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"Rules": []})

    def _eventbridge_ListTargetsByRule(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"Targets": []})

    def _sts_GetCallerIdentity(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"Account": ACCOUNT, "UserId": "bench", "Arn": f"arn:aws:iam::{ACCOUNT}:user/bench"})

    def _ssm_GetParameters(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return ok({"Parameters": [], "InvalidParameters": list(params.get("Names", []))})


def ok(body: dict[str, Any], status: int = 200) -> tuple[AWSResponse, dict[str, Any]]:
    body = dict(body)
    body["ResponseMetadata"] = {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()),
                                "HTTPHeaders": {}, "RetryAttempts": 0}
    return AWSResponse("https://fake.invalid/", status, {}, None), body


def error(status: int, code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    body = {"Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}}
    return AWSResponse("https://fake.invalid/", status, {}, None), body

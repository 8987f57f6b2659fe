"""Start workers on AWS Lambda: one asynchronous invoke (``InvocationType=Event``) per task.

What counts as "not accepted" (:class:`InvokeError`, the orchestrator releases the task at
once, attempt not counted):

* the payload exceeds Lambda's 1 MB async limit (checked before calling: no request is sent);
* Lambda answered with an error (``ClientError``: throttled after botocore's own retries,
  function missing, no permission) or with a status other than 202;
* the connection could not be made (``EndpointConnectionError``, connect timeout).

Anything else, notably a *read* timeout after the request was sent, is raised unchanged: the
invocation may have been accepted, so the orchestrator leaves the task INVOKED and lets its
lease decide (see :mod:`sosw_core.services.orchestrator`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from sosw_core.adapters.invokers.base import InvokeError

logger = logging.getLogger(__name__)

ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # bytes: Lambda's limit for InvocationType=Event
ACCEPTED = 202


def encode_event(function_name: str, event: dict[str, Any]) -> bytes:
    """The event as Lambda receives it; InvokeError if it is not JSON or over the async limit."""
    try:
        body = json.dumps(event, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvokeError(function_name, f"event is not JSON-serialisable: {exc}") from exc
    if len(body) > ASYNC_PAYLOAD_LIMIT:
        raise InvokeError(function_name, f"payload is {len(body)} bytes; the async invoke limit "
                                         f"is {ASYNC_PAYLOAD_LIMIT}")
    return body


class LambdaInvoker:
    """An :class:`~sosw_core.adapters.invokers.base.Invoker` on a boto3 Lambda client (injected)."""

    def __init__(self, client: Any):
        self.client = client

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        payload = encode_event(function_name, event)
        try:
            response = self.client.invoke(FunctionName=function_name, InvocationType="Event",
                                          Payload=payload)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise InvokeError(function_name, f"{error.get('Code', 'ClientError')}: "
                                             f"{error.get('Message', exc)}") from exc
        except BotocoreConnectionError as exc:  # no connection made: nothing was sent
            raise InvokeError(function_name, f"cannot reach Lambda: {exc}") from exc
        status = response.get("StatusCode")
        if status != ACCEPTED:
            raise InvokeError(function_name, f"status {status} (expected {ACCEPTED}); "
                                             f"FunctionError={response.get('FunctionError')}")

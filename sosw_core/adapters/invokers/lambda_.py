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

import logging
from typing import Any

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from sosw_core.adapters.invokers.base import ASYNC_PAYLOAD_LIMIT, InvokeError, encode_event

__all__ = ["ACCEPTED", "ASYNC_PAYLOAD_LIMIT", "LambdaInvoker", "encode_event"]

logger = logging.getLogger(__name__)

ACCEPTED = 202


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

"""How the orchestrator starts a worker: an asynchronous invocation, and what Lambda accepts.

The :class:`Invoker` protocol is the domain's (:mod:`sosw_core.domain.ports`) and
:class:`InvokeError` the library's (:mod:`sosw_core.errors`); both are re-exported here for the
adapters. :func:`encode_event` is the acceptance rule every invoker applies before sending (the
Lambda one, and the local one that imitates it). This module imports no AWS library.
"""

from __future__ import annotations

import json
from typing import Any

from sosw_core.domain.ports import Invoker
from sosw_core.errors import InvokeError

__all__ = ["ASYNC_PAYLOAD_LIMIT", "InvokeError", "Invoker", "encode_event"]

ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # bytes: Lambda's limit for InvocationType=Event


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

"""Run worker handlers in-process with Lambda's event shape and asynchronous semantics.

``invoke`` returns as soon as the invocation is accepted; the handler runs later in a thread
pool, on a JSON round-trip copy of the event (exactly what Lambda would deliver), with a fake
context that knows its remaining time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sosw_core.invokers.base import InvokeError

logger = logging.getLogger(__name__)

ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # Lambda's async invoke payload limit
Handler = Callable[[dict[str, Any], Any], Any]


class LocalContext:
    """The part of the Lambda context object handlers use."""

    def __init__(self, function_name: str, timeout_seconds: float, lease_end: float | None = None):
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds
        if lease_end is not None:  # a worker never outlives its lease here (see LocalRuntime)
            self._deadline = min(self._deadline, time.monotonic() + lease_end - time.time())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalInvoker:
    def __init__(self, handlers: Mapping[str, Handler], max_workers: int = 32,
                 timeouts: Mapping[str, float] | None = None):
        self.handlers = dict(handlers)
        self.timeouts = dict(timeouts or {})
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")
        self._lock = threading.Lock()
        self._pending: set[Future] = set()
        self.invocations = 0
        self.errors = 0

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        handler = self.handlers.get(function_name)
        if handler is None:
            raise InvokeError(function_name, "no such function (ResourceNotFoundException)")
        body = json.dumps(event)
        if len(body.encode()) > ASYNC_PAYLOAD_LIMIT:
            raise InvokeError(function_name, f"payload is {len(body.encode())} bytes; the async "
                                             f"limit is {ASYNC_PAYLOAD_LIMIT}")
        envelope = event.get("sosw_core") if isinstance(event.get("sosw_core"), dict) else {}
        lease_end = envelope.get("deadline_at") if function_name in self.timeouts else None
        context = LocalContext(function_name, self.timeouts.get(function_name, 900.0), lease_end)
        future = self._pool.submit(self._run, handler, json.loads(body), context)
        with self._lock:
            self.invocations += 1
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _run(self, handler: Handler, event: dict[str, Any], context: LocalContext) -> Any:
        try:
            return handler(event, context)
        except Exception:  # a crashed Lambda: AWS logs it and moves on; so do we, loudly
            with self._lock:
                self.errors += 1
            logger.exception("handler raised", extra={"function_name": context.function_name,
                                                      "task_id": event.get("task_id")})
            return None

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.pending()

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

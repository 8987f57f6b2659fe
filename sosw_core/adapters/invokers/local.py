"""Run worker handlers in-process with Lambda's event shape and asynchronous semantics.

``invoke`` returns as soon as the invocation is accepted; the handler runs later on a thread
of a pool, with a JSON round-trip copy of the event (exactly what Lambda would deliver: no
shared objects, tuples become lists) and a fake context that knows its remaining time. The
acceptance rules are Lambda's: unknown function or payload over 1 MB → :class:`InvokeError`.

A handler that raises is what Lambda calls a function error: it is logged at ERROR with the
task id and traceback and counted in ``errors``; the pool goes on. (No automatic retry: the
orchestrator's lease and backoff decide.) A ``BaseException`` that is not an ``Exception`` (a
simulated kill at timeout) ends the run without counting as an error; it is logged at WARNING
and re-raised into the pool's future, which nobody reads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sosw_core.adapters.invokers.base import InvokeError, encode_event
from sosw_core.domain.events import ENVELOPE

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 900.0  # Lambda's maximum
Handler = Callable[[dict[str, Any], Any], Any]


class LocalContext:
    """The part of the Lambda context object handlers use."""

    def __init__(self, function_name: str, timeout_seconds: float, lease_end: float | None = None):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds
        if lease_end is not None:  # epoch seconds: a worker never outlives its lease here
            self._deadline = min(self._deadline, time.monotonic() + lease_end - time.time())

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalInvoker:
    """An :class:`~sosw_core.adapters.invokers.base.Invoker` running registered handlers in threads.

    ``handlers`` maps function names to ``handler(event, context)``; it may be filled after
    construction. ``timeouts`` (seconds per function, default 900) set each context's clock;
    a function with a configured timeout (the local runtime sets one per labourer, equal to its
    lease) also runs out of time at its task's lease end (``deadline_at`` in the envelope),
    like a Lambda whose timeout the lease covers exactly.
    """

    def __init__(self, handlers: Mapping[str, Handler], max_workers: int = 32,
                 timeouts: Mapping[str, float] | None = None):
        self.handlers: dict[str, Handler] = dict(handlers)
        self.timeouts: dict[str, float] = dict(timeouts or {})
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self.invocations = 0  # accepted
        self.completed = 0  # handler returned
        self.errors = 0  # handler raised

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        handler = self.handlers.get(function_name)
        if handler is None:
            raise InvokeError(function_name, "no such function (ResourceNotFoundException)")
        body = encode_event(function_name, event)
        context = LocalContext(function_name, self.timeouts.get(function_name, DEFAULT_TIMEOUT_SECONDS),
                               self._lease_end(function_name, event))
        with self._idle:
            if self._closed:
                raise InvokeError(function_name, "the local invoker is shut down")
            self._pending += 1
            self.invocations += 1
        try:
            future = self._pool.submit(self._run, handler, body, context)
        except RuntimeError as exc:  # the pool was shut down between the check and the submit
            self._finish(None)
            raise InvokeError(function_name, f"not accepted: {exc}") from exc
        # shutdown(wait=False) cancels queued runs: they never start, so they finish here
        future.add_done_callback(lambda f: self._finish(None) if f.cancelled() else None)

    def _lease_end(self, function_name: str, event: dict[str, Any]) -> float | None:
        """The task's lease end (``deadline_at`` in its envelope) for a function with a timeout."""
        envelope = event.get(ENVELOPE)
        if function_name not in self.timeouts or not isinstance(envelope, dict):
            return None
        lease_end = envelope.get("deadline_at")
        return float(lease_end) if isinstance(lease_end, int | float) else None

    def _run(self, handler: Handler, body: bytes, context: LocalContext) -> None:
        event = json.loads(body)
        task_id = event.get("task_id") if isinstance(event, dict) else None
        extra = {"function_name": context.function_name, "task_id": task_id,
                 "aws_request_id": context.aws_request_id}
        outcome: str | None = None
        try:
            handler(event, context)
            outcome = "completed"
        except Exception:  # a function error: Lambda logs it and moves on; so do we, loudly
            outcome = "errors"
            logger.exception("handler raised", extra=extra)
        except BaseException as exc:  # a kill, not a function error: logged and passed on
            logger.warning("handler stopped by %s", type(exc).__name__, extra=extra)
            raise
        finally:
            self._finish(outcome)

    def _finish(self, outcome: str | None) -> None:
        with self._idle:
            self._pending -= 1
            if outcome == "completed":
                self.completed += 1
            elif outcome == "errors":
                self.errors += 1
            self._idle.notify_all()

    def pending(self) -> int:
        """Invocations accepted whose handler has not finished."""
        with self._idle:
            return self._pending

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no handler is queued or running; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new invocations; with ``wait``, let accepted ones finish, else drop queued ones."""
        with self._idle:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

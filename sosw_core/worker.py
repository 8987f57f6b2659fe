"""The Worker base class: users implement ``process(payload)``; the base does the reporting.

Lifecycle of one invocation::

    event ─ split ─ before_process ─ process ─ after_process ─ report COMPLETED
                                        └─ raises ─ on_failure ─ report FAILED (type, message,
                                                                  truncated traceback)

Completion is reported only after ``process`` returned. A failure is reported and the handler
returns normally: re-raising would make Lambda re-deliver the async event, which would run the
task outside the orchestrator's attempt accounting. Without a ``sosw_core`` envelope (invoked by
hand, or by sosw 0.7 tooling) the worker just processes the payload and returns the result.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import traceback
from typing import Any, Protocol

from sosw_core.events import Action, Invocation, Report, split_worker_event

logger = logging.getLogger(__name__)

MAX_TRACEBACK = 4000


class Reporter(Protocol):
    def report(self, report: Report) -> dict[str, Any]: ...


class DirectReporter:
    """Report in-process to a WorkerAssistant (local runtime, tests, or a worker with table rights)."""

    def __init__(self, assistant: Any):
        self.assistant = assistant

    def report(self, report: Report) -> dict[str, Any]:
        return self.assistant.apply(report)


class ReportFailed(RuntimeError):
    """The WorkerAssistant did not accept the report after every retry."""


class LambdaReporter:
    """Report through the WorkerAssistant Lambda: synchronous invoke, retried with backoff."""

    RETRYABLE = ("TooManyRequestsException", "ServiceException", "ThrottlingException",
                 "EC2ThrottledException", "ResourceConflictException")

    def __init__(self, function_name: str | None = None, client: Any = None, attempts: int = 5):
        self.function_name = function_name or os.environ.get("SOSW_WORKER_ASSISTANT_FUNCTION",
                                                             "sosw_worker_assistant")
        self._client = client
        self.attempts = attempts

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("lambda")
        return self._client

    def report(self, report: Report) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        payload = json.dumps(report.to_event()).encode()
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.invoke(FunctionName=self.function_name,
                                              InvocationType="RequestResponse", Payload=payload)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in self.RETRYABLE or attempt == self.attempts:
                    raise
                time.sleep(random.uniform(0, min(5.0, 0.1 * 2 ** attempt)))
                continue
            body = json.loads(response["Payload"].read() or b"null")
            if response.get("FunctionError"):
                raise ReportFailed(f"WorkerAssistant refused the report: {body}")
            return body
        raise ReportFailed("unreachable")


class Worker:
    """Subclass and implement :meth:`process`. An instance is a Lambda handler: ``handler = MyWorker()``."""

    def __init__(self, reporter: Reporter | None = None):
        self._reporter = reporter
        # Per-call state is thread-local: Lambda runs one event per container at a time, but a
        # local runtime shares one instance between its pool threads.
        self._call = threading.local()

    @property
    def invocation(self) -> Invocation | None:
        return getattr(self._call, "invocation", None)

    @property
    def context(self) -> Any:
        return getattr(self._call, "context", None)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters the worker may fill during process(); reported with the completion."""
        if not hasattr(self._call, "stats"):
            self._call.stats = {}
        return self._call.stats

    # -- the one method a user writes ---------------------------------------------------------
    def process(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError("a Worker subclass implements process(payload)")

    # -- hooks (no-op defaults) -----------------------------------------------------------------
    def before_process(self, payload: dict[str, Any]) -> None:
        """Called before process."""

    def after_process(self, payload: dict[str, Any], result: Any) -> None:
        """Called after process returned, before the completion is reported."""

    def on_failure(self, payload: dict[str, Any], exc: BaseException) -> None:
        """Called when process raised, before the failure is reported."""

    # -- helpers for process() ---------------------------------------------------------------------
    @property
    def reporter(self) -> Reporter:
        if self._reporter is None:
            self._reporter = LambdaReporter()
        return self._reporter

    @property
    def idempotency_key(self) -> str | None:
        """The task id: the same for every attempt of a task, so side effects keyed on it happen once."""
        return self.invocation.task_id if self.invocation else None

    def remaining_time_ms(self) -> int | None:
        return self.context.get_remaining_time_in_millis() if self.context is not None else None

    def heartbeat(self) -> dict[str, Any] | None:
        """Extend this attempt's lease (call it from long tasks); no-op without a task."""
        if self.invocation is None:
            return None
        return self.reporter.report(Report(Action.HEARTBEAT, self.invocation))

    # -- the Lambda handler ---------------------------------------------------------------------
    def __call__(self, event: Any, context: Any = None) -> Any:
        payload, invocation = split_worker_event(event)
        self._call.invocation, self._call.context, self._call.stats = invocation, context, {}
        if invocation is None:
            return self.process(payload)
        extra = {"task_id": invocation.task_id, "labourer_id": invocation.labourer_id,
                 "attempt": invocation.attempt}
        try:
            self.before_process(payload)
            result = self.process(payload)
            self.after_process(payload, result)
        except Exception as exc:  # noqa: BLE001 - the task boundary: every failure is reported as FAILED
            self.on_failure(payload, exc)
            logger.warning("task failed", extra={**extra, "error_type": type(exc).__name__})
            return self.reporter.report(Report(
                Action.FAILED, invocation, error_type=type(exc).__name__, error_message=str(exc)[:4000],
                traceback="".join(traceback.format_exception(exc))[-MAX_TRACEBACK:]))
        result_map = result if isinstance(result, dict) or result is None else {"value": result}
        return self.reporter.report(Report(Action.COMPLETED, invocation, result=result_map,
                                           stats=dict(self.stats) or None))

"""The Worker base class: users implement ``process(payload)``; the base does the reporting.

Lifecycle of one invocation::

    event ─ split ─ before_process ─ process ─ after_process ─ report COMPLETED ─ return response
                       └──────────────┴─────────────┴─ raises ─ on_failure ─ report FAILED
                                                                (type, message, traceback tail)
                                                                ─ return response (no re-raise)

Rules:

* Completion is reported only after ``process`` (and ``after_process``) returned. A result or
  ``stats`` that cannot be reported (not JSON, over 64 KB) is reported as a failure
  ``InvalidResult`` naming the field, checked by the same parser the WorkerAssistant uses.
* A failure is reported and the handler **returns** normally. Re-raising would make Lambda
  retry the async event (up to twice), running the task again outside the orchestrator's
  attempt accounting and backoff; the orchestrator retries it instead, as configured.
* Only ``Exception`` is reported. A ``BaseException`` (SystemExit, a kill) propagates: like a
  Lambda stopped at its timeout, nothing is reported and the lease runs out.
* If the *report itself* fails (the WorkerAssistant unreachable after retries, or it refused
  the report) the error is logged and raised: the invocation fails visibly (it goes to the
  function's on-failure destination) and the lease expiry runs the task again; a worker
  deployed with Lambda retries (the example template sets none) may run it again sooner.
  Reports are idempotent, so a retried delivery never counts an attempt twice.
* Without a ``sosw_core`` envelope (invoked by hand, or by sosw 0.7 tooling) the worker just
  processes the payload and returns the result, like a plain Lambda; nothing is reported.

Per-call state (invocation, context, stats) is thread-local: Lambda runs one event per
container at a time, but the local runtime shares one instance between pool threads. Call
:meth:`Worker.heartbeat` and :meth:`Worker.ensure_current` from the thread that runs ``process``.

Importing this module loads no botocore or boto3: :class:`LambdaReporter` imports them when it
sends its first report (a worker's cold start pays for them only then).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from sosw_core.clock import Clock, SystemClock
from sosw_core.domain.events import (
    MAX_ERROR_TEXT,
    Action,
    Invocation,
    Report,
    parse_report,
    split_worker_event,
)
from sosw_core.domain.outcomes import Outcome
from sosw_core.errors import AttemptSuperseded, InvalidEvent, SoswError

logger = logging.getLogger(__name__)

ASSISTANT_FUNCTION_ENV = "SOSW_WORKER_ASSISTANT_FUNCTION"
DEFAULT_ASSISTANT_FUNCTION = "sosw_worker_assistant"


class ReportFailed(SoswError):
    """The WorkerAssistant did not accept a report (unreachable after retries, or it raised)."""

    def __init__(self, message: str, error_type: str | None = None):
        self.error_type = error_type
        super().__init__(message)


class Reporter(Protocol):
    def report(self, report: Report) -> dict[str, Any]:
        """Deliver one report; the WorkerAssistant's response, or raise."""


class DirectReporter:
    """Report in-process to a WorkerAssistant: the local runtime, tests, or a worker that has
    rights on the tasks table and reports straight to DynamoDB."""

    def __init__(self, assistant: Any):
        self.assistant = assistant

    def report(self, report: Report) -> dict[str, Any]:
        return self.assistant.apply(report)


class LambdaReporter:
    """Report through the WorkerAssistant Lambda (synchronous ``RequestResponse`` invoke).

    Throttling, 5xx and connection errors are retried with exponential backoff and full jitter
    (safe: a repeated report is a duplicate the assistant ignores). A ``FunctionError`` in the
    response (the assistant raised: bad token, unknown task, malformed report) is not retried
    and raises :class:`ReportFailed` with the assistant's error type. The boto3 client is
    created on the first report (region from ``AWS_REGION``), not in ``__init__``.
    """

    RETRYABLE_CODES = frozenset({"TooManyRequestsException", "ThrottlingException", "ServiceException",
                                 "EC2ThrottledException", "ResourceConflictException",
                                 "ResourceNotReadyException"})

    def __init__(self, client: Any = None, function_name: str | None = None, *, attempts: int = 5,
                 base_delay: float = 0.2, max_delay: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep):
        self._client = client
        self.function_name = function_name or os.environ.get(ASSISTANT_FUNCTION_ENV,
                                                             DEFAULT_ASSISTANT_FUNCTION)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # deferred: workers reporting directly never need it

            self._client = boto3.client("lambda")
        return self._client

    def _retryable(self, exc: Any) -> bool:
        """For a botocore ``ClientError``: throttled, or a 5xx."""
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return exc.response.get("Error", {}).get("Code") in self.RETRYABLE_CODES or status >= 500

    def report(self, report: Report) -> dict[str, Any]:
        # deferred: importing the Worker must not load botocore (cold starts, in-process reporting)
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotocoreConnectionError

        payload = json.dumps(report.to_event(), separators=(",", ":")).encode()
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.invoke(FunctionName=self.function_name,
                                              InvocationType="RequestResponse", Payload=payload)
            except ClientError as exc:
                if not self._retryable(exc) or attempt == self.attempts:
                    raise ReportFailed(f"invoking {self.function_name} failed: {exc}",
                                       exc.response.get("Error", {}).get("Code")) from exc
                reason = exc.response.get("Error", {}).get("Code")
            except (BotocoreConnectionError, HTTPClientError) as exc:
                if attempt == self.attempts:
                    raise ReportFailed(f"cannot reach {self.function_name}: {exc}") from exc
                reason = type(exc).__name__
            else:
                return self._read(response)
            delay = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
            logger.warning("report retried", extra={"task_id": report.invocation.task_id,
                                                    "attempt": attempt, "reason": reason})
            self.sleep(delay)
        raise ReportFailed(f"no attempts configured for {self.function_name}")

    def _read(self, response: dict[str, Any]) -> dict[str, Any]:
        raw = response["Payload"].read() if "Payload" in response else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = {"raw": raw[:500].decode(errors="replace")}
        if response.get("FunctionError"):
            error = body if isinstance(body, dict) else {}
            raise ReportFailed(f"{self.function_name} refused the report: "
                               f"{error.get('errorType')}: {error.get('errorMessage')}",
                               error.get("errorType"))
        return body if isinstance(body, dict) else {"response": body}


class Worker:
    """Subclass and implement :meth:`process`. An instance is a Lambda handler::

        class SumWorker(Worker):
            def process(self, payload):
                return {"sum": sum(payload["numbers"])}

        lambda_handler = SumWorker.handler      # or: lambda_handler = SumWorker()
    """

    _reporter: Reporter | None = None
    _handler_instance: ClassVar[Worker]  # set per subclass by :meth:`handler` (read from its __dict__)
    clock: Clock = SystemClock()  # read once per run, to compare the lease with Lambda's timeout

    def __init__(self, reporter: Reporter | None = None):
        self._reporter = reporter

    # -- the one method a user writes ---------------------------------------------------------
    def process(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Do the work for one task's payload; return the result (a dict, or None)."""
        raise NotImplementedError("a Worker subclass implements process(payload)")

    # -- hooks (no-op defaults) ---------------------------------------------------------------
    def before_process(self, payload: dict[str, Any]) -> None:
        """Called before process; raising here fails the task like process raising."""

    def after_process(self, payload: dict[str, Any], result: Any) -> None:
        """Called after process returned, before the completion is reported; raising fails the task."""

    def on_failure(self, payload: dict[str, Any], exc: BaseException) -> None:
        """Called when a step raised, before the failure is reported."""

    # -- what process() may use ---------------------------------------------------------------
    @property
    def _call(self) -> threading.local:
        # Lazily created, so a subclass that forgets super().__init__() still works.
        return self.__dict__.setdefault("_call_state", threading.local())

    @property
    def invocation(self) -> Invocation | None:
        """The task being processed (task_id, attempt, ...); None in plain-Lambda mode."""
        return getattr(self._call, "invocation", None)

    @property
    def context(self) -> Any:
        return getattr(self._call, "context", None)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters process() may fill; reported with the completion (any key names)."""
        call = self._call
        if getattr(call, "stats", None) is None:
            call.stats = {}
        return call.stats

    @stats.setter
    def stats(self, value: dict[str, Any]) -> None:
        self._call.stats = value

    @property
    def idempotency_key(self) -> str | None:
        """The task id: the same for every attempt of a task (``invocation.attempt`` differs per
        run), so a side effect keyed on it happens once however often the task runs."""
        return self.invocation.task_id if self.invocation else None

    def remaining_time_ms(self) -> int | None:
        """Milliseconds until Lambda stops this invocation; None without a context."""
        return self.context.get_remaining_time_in_millis() if self.context is not None else None

    @property
    def reporter(self) -> Reporter:
        """Where reports go: the WorkerAssistant Lambda unless another reporter was set."""
        if self._reporter is None:
            self._reporter = LambdaReporter()
        return self._reporter

    @reporter.setter
    def reporter(self, value: Reporter | None) -> None:
        """Send reports elsewhere (the local runtime and the test harness pass ``DirectReporter``);
        None goes back to the default, the WorkerAssistant Lambda."""
        self._reporter = value

    def heartbeat(self) -> Outcome | None:
        """Extend this attempt's lease (long tasks call it now and then); None without a task.

        :attr:`Outcome.APPLIED`: the lease now ends the labourer's ``max_duration_seconds`` from
        now. :attr:`Outcome.STALE`: this attempt is no longer current (its lease ran out and the
        task was retried, or it closed) and the work may stop; :meth:`ensure_current` raises
        then instead.
        """
        if self.invocation is None:
            return None
        response = self.reporter.report(Report(Action.HEARTBEAT, self.invocation))
        try:
            return Outcome(str(response["outcome"]))
        except (KeyError, ValueError):
            raise ReportFailed(f"the heartbeat's answer names no outcome: {response!r:.300}") from None

    def ensure_current(self) -> None:
        """Extend this attempt's lease, or raise :class:`~sosw_core.errors.AttemptSuperseded` if
        it is no longer current; does nothing without a task (plain Lambda mode).

        Long tasks call it between chunks of work. Raised out of :meth:`process`, the exception
        ends the run like any failure: it is reported, and the WorkerAssistant ignores the report
        (the attempt it names was already counted), so only the current attempt decides the task.
        """
        invocation = self.invocation
        if invocation is None:
            return
        outcome = self.heartbeat()
        if outcome is not Outcome.APPLIED:
            raise AttemptSuperseded(invocation.task_id, invocation.attempt)

    # -- the Lambda handler -------------------------------------------------------------------
    @classmethod
    def handler(cls, event: Any, context: Any = None) -> Any:
        """A module-level Lambda handler: ``lambda_handler = MyWorker.handler`` (one instance
        per class and container, built on the first event)."""
        instance = cls.__dict__.get("_handler_instance")
        if instance is None:
            with _HANDLER_LOCK:
                instance = cls.__dict__.get("_handler_instance")
                if instance is None:
                    instance = cls()
                    cls._handler_instance = instance
        return instance(event, context)

    def __call__(self, event: Any, context: Any = None) -> Any:
        payload, invocation = split_worker_event(event)
        call = self._call
        call.invocation, call.context, call.stats = invocation, context, {}
        if invocation is None:
            return self.process(payload)
        if not self._lease_covers_this_run(invocation):
            logger.warning("attempt no longer current at start: not run", extra={
                "task_id": invocation.task_id, "labourer_id": invocation.labourer_id,
                "attempt": invocation.attempt})
            return {"task_id": invocation.task_id, "outcome": Outcome.STALE, "ran": False}
        try:
            self.before_process(payload)
            result = self.process(payload)
            self.after_process(payload, result)
        except Exception as exc:  # noqa: BLE001 - the task boundary: every failure is reported
            return self._fail(payload, invocation, exc)
        try:
            report = _completion(invocation, result, self.stats)
        except InvalidEvent as exc:
            return self._send(Report(Action.FAILED, invocation, error_type="InvalidResult",
                                     error_message=str(exc)[:MAX_ERROR_TEXT]))
        return self._send(report)

    def _lease_covers_this_run(self, invocation: Invocation) -> bool:
        """Make sure this run ends (at the latest, killed at its Lambda timeout) before its lease.

        The Orchestrator counts a task as running until its lease ends; a run that outlived its
        lease would run beside the retry the Scavenger starts then, over the labourer's limit.
        An asynchronous invoke can wait in Lambda's queue, so a run may start with little of its
        lease left: then one heartbeat (guarded: only the current attempt's lease is extended)
        moves the lease end past this invocation's timeout. If the attempt already expired, the
        heartbeat is stale and the run does nothing: the retry does the work.
        """
        remaining = self.remaining_time_ms()
        if invocation.deadline_at is None or remaining is None:
            return True
        if self.clock.now() + remaining / 1000.0 <= invocation.deadline_at:
            return True
        outcome = self.heartbeat()
        return outcome is None or outcome is Outcome.APPLIED

    def _fail(self, payload: dict[str, Any], invocation: Invocation, exc: Exception) -> dict[str, Any]:
        extra = {"task_id": invocation.task_id, "labourer_id": invocation.labourer_id,
                 "attempt": invocation.attempt, "error_type": type(exc).__name__}
        logger.warning("task failed", extra=extra)
        try:
            self.on_failure(payload, exc)
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            logger.exception("on_failure hook raised", extra=extra)
        trace = "".join(traceback.format_exception(exc))
        return self._send(Report(Action.FAILED, invocation, error_type=type(exc).__name__,
                                 error_message=str(exc)[:MAX_ERROR_TEXT],
                                 traceback=trace[-MAX_ERROR_TEXT:]))

    def _send(self, report: Report) -> dict[str, Any]:
        inv = report.invocation
        try:
            response = self.reporter.report(report)
        except Exception:
            logger.exception("report not delivered", extra={
                "task_id": inv.task_id, "labourer_id": inv.labourer_id, "attempt": inv.attempt,
                "action": report.action.value})
            raise
        logger.info("reported", extra={"task_id": inv.task_id, "labourer_id": inv.labourer_id,
                                       "attempt": inv.attempt, "action": report.action.value,
                                       "outcome": response.get("outcome")})
        return response


_HANDLER_LOCK = threading.Lock()


def _completion(invocation: Invocation, result: Any, stats: dict[str, Any]) -> Report:
    """The completion report, validated by the assistant's own parser (InvalidEvent if not)."""
    result_map = result if isinstance(result, dict) or result is None else {"value": result}
    event = Report(Action.COMPLETED, invocation, result=result_map, stats=dict(stats) or None).to_event()
    parse_report(event)  # names the field that is not JSON or too large
    parsed = parse_report(json.dumps(event))  # exactly what the assistant receives through Lambda
    return Report(Action.COMPLETED, invocation, result=parsed.result, stats=parsed.stats)

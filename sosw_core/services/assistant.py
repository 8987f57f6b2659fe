"""The WorkerAssistant: takes workers' reports and turns each into one guarded task write.

Actions (sosw 0.7 names): ``mark_task_as_completed``, ``mark_task_as_failed``, plus
``heartbeat``. A sosw-core report carries the task's token (see :mod:`sosw_core.domain.events`),
so a function that may invoke the assistant still cannot close or fail someone else's task.

Rules, in the order they are checked (nothing is written until all of them pass):

1. the event parses (:func:`~sosw_core.domain.events.read_report`), else ``InvalidEvent`` naming the field;
2. the labourer is configured, else ``UnknownLabourer``;
3. the store's guarded write decides: ``TaskNotFound`` (no row is ever created by a report),
   ``ReportRejected`` (wrong token, or a completion of a dead task), or an outcome:

   ======================  =============================================================
   outcome                 meaning
   ======================  =============================================================
   ``applied``             this report changed the task
   ``duplicate``           the same completion was already applied (Lambda delivers
                           async events at least once): nothing changed
   ``stale``               a failure/heartbeat of an attempt that is no longer current
                           (its lease expired, or the task closed): nothing changed
   ======================  =============================================================

Completion chaining: with a :class:`~sosw_core.services.handoff.HandOff`, a successful report of the
attempt that is running completes its task and claims the labourer's next queued task in one
transaction, then invokes it (``chained``: 1 in the response); see :mod:`sosw_core.services.handoff`
for when that is allowed. An invoke failure there gives the next task back and is named in
the response (``chain_error``); the completion stays applied.

sosw 0.7 reports (``sosw.worker.Worker`` unchanged: ``{"action", "task_id", "stats"?,
"result"?}``, no token, invoked with ``InvocationType=Event``). sosw 0.7's trust model: whoever
may invoke the WorkerAssistant (IAM ``lambda:InvokeFunction`` on it) may close any task. A
labourer with ``accept_sosw07_reports: true`` accepts that model for its tasks; for the others
(the default) such a report is refused. An accepted one is applied to the attempt the task is
at *when the report is read*:

* the task is read (``TaskNotFound``), its labourer must be configured and trusting
  (``ReportRejected``), and it must have been invoked at least once;
* then the same guarded write as a sosw-core report, with the row's own token and the
  attempts read: ``labourer_id = <task's labourer> AND (state = invoked AND attempts = <read>)``,
  or, for a completion only, ``state IN (queued, retrying)``.

Races (each ends in one of the outcomes above, never an error):

* a duplicate delivery finds the task COMPLETED (``duplicate``), or a failure finds the attempt
  it read already ended (``stale``);
* the attempt read ends between the read and the write (lease expired, retried, claimed
  again): the guard on ``attempts`` fails and the report is ``stale``; the newer attempt
  reports for itself;
* a completion that arrives after the lease expired (task RETRYING or QUEUED again) is
  accepted, as a token report is: the work is done, the task is never run again. So is a
  completion after a failure report of the same run (sosw 0.7 ``mark_task_as_failed`` then
  ``super().__call__``, which marks it completed): in sosw 0.7 too, completed wins;
* what a tokenless report cannot tell: a report of attempt n that arrives only after attempt
  n+1 was invoked (it ran past its lease) is applied to attempt n+1. A token report cannot be
  mistaken so; that is why token proof stays the default.

A failure is recorded like a sosw-core one (error ``MarkedAsFailed``, the reported ``stats`` and
``result`` kept on the task) and retried by the labourer's policy; a completion completes it.

Refusals are never silent. Every refused report (malformed, unknown labourer or task, wrong
token, dead task, untrusted sosw 0.7 report) is logged at ERROR with its task id and reason and
passed to the ``on_refused`` hook (the Lambda handler counts it in the ``ReportsRefused`` metric,
which the stack alarms on). Then a sosw-core report's refusal is raised: its worker invokes
synchronously and sees the error. A report without a token (sosw 0.7's Worker, asynchronous)
gets a ``refused`` response instead: raising would only make Lambda deliver the same refusal
twice more (the same answer each time) before dropping it to the failed-events queue. Errors
that are not refusals (DynamoDB unreachable) are raised for both, so Lambda retries them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sosw_core.clock import Clock
from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.events import Action, Invocation, Report, Sosw07Report, is_sosw07_report, read_report
from sosw_core.domain.outcomes import REJECT_NEVER_INVOKED, REJECT_SOSW07_UNTRUSTED, Outcome
from sosw_core.domain.ports import ReportWriter
from sosw_core.domain.task import TaskState
from sosw_core.errors import InvalidEvent, ReportRejected, TaskNotFound, UnknownLabourer
from sosw_core.services.handoff import HandOff

logger = logging.getLogger(__name__)

# TaskStore.fail keeps at most this many characters of the message.
STORED_MESSAGE_CHARS = 2000
# Of those, the error message itself keeps at most this many; the rest is the traceback's tail
# (its last lines name the exception and where it was raised: the part worth keeping).
MESSAGE_HEAD_CHARS = 600
# What a sosw 0.7 failure is recorded as: its report carries no error text.
SOSW07_ERROR_TYPE = "MarkedAsFailed"
SOSW07_ERROR_MESSAGE = "the sosw 0.7 worker called mark_task_as_failed (its report names no error)"
# The errors that refuse a report (nothing written); anything else is not a refusal.
REFUSALS = (InvalidEvent, UnknownLabourer, TaskNotFound, ReportRejected)

# on_refused(labourer_id or None when not known, now): a refused report, for counting.
RefusalHook = Callable[[str | None, float], None]


def _ignore_refusal(labourer_id: str | None, now: float) -> None:
    """The default ``on_refused`` hook: nothing (the refusal is logged either way)."""


def failure_text(message: str, traceback: str, limit: int = STORED_MESSAGE_CHARS) -> str:
    """The error message, then as much of the traceback's *end* as fits in ``limit`` characters."""
    if not traceback:
        return message[:limit]
    head = message[:MESSAGE_HEAD_CHARS]
    room = limit - len(head) - 1
    if room <= 0:
        return head[:limit]
    tail = traceback if len(traceback) <= room else "…" + traceback[-(room - 1):]
    return f"{head}\n{tail}"


class WorkerAssistant:
    """Applies worker reports to the task store. Thread-safe."""

    def __init__(self, config: SoswConfig, *, tasks: ReportWriter, clock: Clock,
                 handoff: HandOff | None = None, on_refused: RefusalHook = _ignore_refusal):
        """Built by :func:`sosw_core.wiring.build_assistant`. Without ``handoff`` a completion
        never passes its slot on (the Orchestrator fills it at its next tick). ``on_refused`` is
        called once per refused report (see the module docstring)."""
        self.tasks = tasks
        self.config = config
        self.clock = clock
        self.handoff = handoff
        self.on_refused = on_refused

    def handle(self, event: Any) -> dict[str, Any]:
        """Validate and apply one report event.

        Returns ``{"task_id", "labourer_id", "action", "outcome", "state"}``: the
        :class:`Action`, the :class:`Outcome` and the task's :class:`TaskState` after an applied
        change (``COMPLETED`` for a duplicate completion, None when a stale report left the task
        as it was), all ``str`` enums (JSON as their values), plus ``chained``/``chain_error``
        after chaining. A sosw-core report's refusal raises InvalidEvent, UnknownLabourer,
        TaskNotFound or ReportRejected; a sosw 0.7 report's is returned (``outcome``
        ``refused``, ``reason``). No refusal changes any row.
        """
        now = self.clock.now()  # once per event
        known: list[str] = []  # the labourer, once it is known to be configured
        try:
            report = read_report(event)
            if isinstance(report, Sosw07Report):
                return self._apply_sosw07(report, now, known)
            labourer = self.config.labourer(report.invocation.labourer_id)
            known.append(labourer.id)
            return self._apply(report, labourer, now)
        except REFUSALS as exc:
            return self._refused(event, exc, known[0] if known else None, now)

    def _refused(self, event: Any, exc: Exception, labourer_id: str | None, now: float) -> dict[str, Any]:
        """Log and count one refused report; raise it again unless its sender cannot see it."""
        task_id = getattr(exc, "task_id", None) or (event.get("task_id") if isinstance(event, dict) else None)
        task_id = task_id if isinstance(task_id, str) else None
        action = event.get("action") if isinstance(event, dict) else None
        tokenless = is_sosw07_report(event)
        logger.error("report refused", extra={
            "task_id": task_id, "labourer_id": labourer_id,
            "action": action if isinstance(action, str) else None, "reason": str(exc),
            "error_type": type(exc).__name__, "sosw07_report": tokenless})
        self.on_refused(labourer_id, now)
        if not tokenless:
            raise exc
        return {"task_id": task_id, "labourer_id": labourer_id, "action": action,
                "outcome": Outcome.REFUSED, "state": None, "reason": str(exc)}

    def _apply_sosw07(self, report: Sosw07Report, now: float, known: list[str]) -> dict[str, Any]:
        """A trusted sosw 0.7 report, applied to the task's attempt as read (module docstring)."""
        task = self.tasks.get(report.task_id)
        labourer = self.config.labourer(task.labourer_id)
        known.append(labourer.id)
        if not labourer.accept_sosw07_reports:
            raise ReportRejected(task.task_id, REJECT_SOSW07_UNTRUSTED)
        if task.attempts < 1:
            raise ReportRejected(task.task_id, REJECT_NEVER_INVOKED)
        # The row's own token: the guard then rests on state, attempts and labourer alone.
        invocation = Invocation(task.task_id, labourer.id, task.attempts, task.token)
        if report.action is Action.COMPLETED:
            as_report = Report(Action.COMPLETED, invocation, result=report.result, stats=report.stats)
        else:
            as_report = Report(Action.FAILED, invocation, result=report.result, stats=report.stats,
                               error_type=SOSW07_ERROR_TYPE, error_message=SOSW07_ERROR_MESSAGE)
        return self._apply(as_report, labourer, now, sosw07=True)

    def apply(self, report: Report) -> dict[str, Any]:
        """The in-process path (DirectReporter): the same rules as a Lambda event."""
        return self.handle(report.to_event())

    def _apply(self, report: Report, labourer: LabourerConfig, now: float, *,
               sosw07: bool = False) -> dict[str, Any]:
        inv = report.invocation
        state: TaskState | None
        response: dict[str, Any] = {}
        if report.action is Action.COMPLETED:
            if self.handoff is not None:
                done = self.handoff.complete(inv.task_id, inv.token, inv.attempt, labourer, now,
                                             result=report.result, stats=report.stats)
                outcome = done.outcome
                response["chained"] = done.chained
                if done.chain_error:
                    response["chain_error"] = done.chain_error
            else:
                outcome = self.tasks.complete(inv.task_id, inv.token, inv.attempt, now,
                                              labourer_id=labourer.id, result=report.result,
                                              stats=report.stats)
            # complete() raises for a dead task; a stale completion left the task as it was
            state = None if outcome is Outcome.STALE else TaskState.COMPLETED
        elif report.action is Action.FAILED:
            outcome, state = self.tasks.fail(
                inv.task_id, inv.token, inv.attempt, labourer, now, error_type=report.error_type,
                message=failure_text(report.error_message, report.traceback),
                result=report.result, stats=report.stats)
        else:
            outcome = self.tasks.heartbeat(inv.task_id, inv.token, inv.attempt, labourer, now)
            state = TaskState.INVOKED if outcome is Outcome.APPLIED else None
        response = {"task_id": inv.task_id, "labourer_id": labourer.id, "action": report.action,
                    "outcome": outcome, "state": state, **response}
        extra = {"task_id": inv.task_id, "labourer_id": inv.labourer_id, "attempt": inv.attempt,
                 "action": report.action.value, "outcome": outcome.value,
                 "state": state.value if state else None, "sosw07_report": sosw07}
        if report.action is Action.FAILED:
            extra["error_type"] = report.error_type
        logger.info("report", extra=extra)
        return response

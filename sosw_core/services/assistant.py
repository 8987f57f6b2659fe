"""The WorkerAssistant: takes workers' reports and turns each into one guarded task write.

Actions (sosw 0.7 names): ``mark_task_as_completed``, ``mark_task_as_failed``, plus
``heartbeat``. Every report carries the task's token (see :mod:`sosw_core.domain.events`), so a
function that may invoke the assistant still cannot close or fail someone else's task.

Rules, in the order they are checked (nothing is written until all of them pass):

1. the event parses (:func:`~sosw_core.domain.events.parse_report`), else ``InvalidEvent`` naming the field;
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
"""

from __future__ import annotations

import logging
from typing import Any

from sosw_core.clock import Clock
from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.events import Action, Report, parse_report
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.ports import ReportWriter
from sosw_core.domain.task import TaskState
from sosw_core.services.handoff import HandOff

logger = logging.getLogger(__name__)

# TaskStore.fail keeps at most this many characters of the message.
STORED_MESSAGE_CHARS = 2000
# Of those, the error message itself keeps at most this many; the rest is the traceback's tail
# (its last lines name the exception and where it was raised: the part worth keeping).
MESSAGE_HEAD_CHARS = 600


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
                 handoff: HandOff | None = None):
        """Built by :func:`sosw_core.wiring.build_assistant`. Without ``handoff`` a completion
        never passes its slot on (the Orchestrator fills it at its next tick)."""
        self.tasks = tasks
        self.config = config
        self.clock = clock
        self.handoff = handoff

    def handle(self, event: Any) -> dict[str, Any]:
        """Validate and apply one report event.

        Returns ``{"task_id", "action", "outcome", "state"}``: the :class:`Action`, the
        :class:`Outcome` and the task's :class:`TaskState` after an applied change (``COMPLETED``
        for a duplicate completion, None when a stale report left the task as it was), all
        ``str`` enums (JSON as their values), plus ``chained``/``chain_error`` after chaining.
        Raises InvalidEvent, UnknownLabourer, TaskNotFound or ReportRejected; none of them
        changes any row.
        """
        report = parse_report(event)
        labourer = self.config.labourer(report.invocation.labourer_id)
        now = self.clock.now()  # once per event
        return self._apply(report, labourer, now)

    def apply(self, report: Report) -> dict[str, Any]:
        """The in-process path (DirectReporter): the same rules as a Lambda event."""
        return self.handle(report.to_event())

    def _apply(self, report: Report, labourer: LabourerConfig, now: float) -> dict[str, Any]:
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
                message=failure_text(report.error_message, report.traceback))
        else:
            outcome = self.tasks.heartbeat(inv.task_id, inv.token, inv.attempt, labourer, now)
            state = TaskState.INVOKED if outcome is Outcome.APPLIED else None
        response = {"task_id": inv.task_id, "action": report.action, "outcome": outcome,
                    "state": state, **response}
        extra = {"task_id": inv.task_id, "labourer_id": inv.labourer_id, "attempt": inv.attempt,
                 "action": report.action.value, "outcome": outcome.value,
                 "state": state.value if state else None}
        if report.action is Action.FAILED:
            extra["error_type"] = report.error_type
        logger.info("report", extra=extra)
        return response

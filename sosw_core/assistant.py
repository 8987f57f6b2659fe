"""The WorkerAssistant: takes workers' reports and turns each into one guarded task write.

Actions (sosw 0.7 names): ``mark_task_as_completed``, ``mark_task_as_failed``, plus
``heartbeat``. Every report carries the task's token (see :mod:`sosw_core.events`), so a
function that may invoke the assistant still cannot close or fail someone else's task. Reports
are idempotent: a duplicate (Lambda delivers async events at least once) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sosw_core.clock import Clock
from sosw_core.config.model import SoswConfig
from sosw_core.events import Action, Report, parse_report
from sosw_core.store.task_store import Outcome, TaskStore

logger = logging.getLogger(__name__)

# chain(labourer_id, now) -> tasks invoked; e.g. Orchestrator.dispatch_one_labourer
Chain = Callable[[str, float], int]


class WorkerAssistant:
    def __init__(self, store: TaskStore, config: SoswConfig, clock: Clock, chain: Chain | None = None):
        self.store = store
        self.config = config
        self.clock = clock
        self.chain = chain

    def handle(self, event: Any) -> dict[str, Any]:
        """Validate and apply one report; the result names the outcome and the task's state.

        Raises InvalidEvent (malformed), UnknownLabourer, TaskNotFound or ReportRejected
        (bad token, dead task); none of them changes the task.
        """
        report = parse_report(event)
        inv = report.invocation
        labourer = self.config.labourer(inv.labourer_id)
        now = self.clock.now()
        state = None
        chained = 0
        if report.action is Action.COMPLETED:
            outcome = self.store.complete(inv.task_id, inv.token, inv.attempt, now,
                                          result=report.result, stats=report.stats)
            state = "completed"
            if outcome is Outcome.APPLIED and labourer.chain_on_completion and self.chain:
                chained = self.chain(labourer.id, now)
        elif report.action is Action.FAILED:
            message = report.error_message
            if report.traceback:
                message = f"{message}\n{report.traceback}"
            outcome, new_state = self.store.fail(inv.task_id, inv.token, inv.attempt, labourer, now,
                                                 error_type=report.error_type, message=message)
            state = new_state.value if new_state else None
        else:
            outcome = self.store.heartbeat(inv.task_id, inv.token, inv.attempt, labourer, now)
        logger.info("report", extra={"task_id": inv.task_id, "labourer_id": inv.labourer_id,
                                     "action": report.action.value, "attempt": inv.attempt,
                                     "outcome": outcome.value, "chained": chained})
        result = {"task_id": inv.task_id, "action": report.action.value, "outcome": outcome.value,
                  "state": state}
        if chained:
            result["chained"] = chained
        return result

    def apply(self, report: Report) -> dict[str, Any]:
        """The in-process path (DirectReporter): the same rules as a Lambda event."""
        return self.handle(report.to_event())

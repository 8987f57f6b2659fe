"""What one run of a worker under the harness did: the reports it sent and the row it left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sosw_core.domain.events import Action, Report
from sosw_core.domain.task import Task, TaskState

_ANY = object()


@dataclass(frozen=True)
class SentReport:
    """One report the worker sent, and what the WorkerAssistant answered (or raised)."""

    report: Report
    response: dict[str, Any] | None = None
    error: Exception | None = None

    @property
    def action(self) -> Action:
        return self.report.action

    @property
    def outcome(self) -> str | None:
        """``applied``, ``duplicate`` or ``stale``; None when the assistant refused the report."""
        return self.response.get("outcome") if self.response else None


@dataclass(frozen=True)
class WorkerRun:
    """One invocation of a worker on one task, as the harness saw it.

    ``task`` is the task's row read back from the table after the handler returned (a
    consistent read), so ``state``, ``result`` and ``error_type`` are what DynamoDB holds, not
    what the worker believes. ``raised`` is the exception the handler let out, if any: a
    Worker reports failures and returns, so this is set only when a report could not be
    delivered (``ReportFailed``) or the worker was invoked without a task envelope.
    """

    task_id: str
    labourer_id: str
    attempt: int
    event: dict[str, Any]  # the worker event exactly as Lambda would deliver it
    response: Any  # what the handler returned
    raised: Exception | None
    reports: tuple[SentReport, ...]
    task: Task

    # -- what the row says ------------------------------------------------------------------
    @property
    def state(self) -> TaskState:
        return self.task.state

    @property
    def result(self) -> dict[str, Any] | None:
        return self.task.result

    @property
    def stats(self) -> dict[str, Any] | None:
        return self.task.stats

    @property
    def error_type(self) -> str | None:
        return self.task.error_type

    @property
    def error_message(self) -> str | None:
        return self.task.error_message

    # -- what the worker reported -----------------------------------------------------------
    @property
    def final_report(self) -> SentReport | None:
        """The completion or failure this run sent (heartbeats aside); None if it sent neither."""
        closing = [r for r in self.reports if r.action is not Action.HEARTBEAT]
        return closing[-1] if closing else None

    @property
    def reported(self) -> Action | None:
        """``Action.COMPLETED`` or ``Action.FAILED``; None if the worker reported neither."""
        final = self.final_report
        return final.action if final else None

    @property
    def outcome(self) -> str | None:
        """The assistant's outcome for the final report: ``applied``, ``duplicate``, ``stale``."""
        final = self.final_report
        return final.outcome if final else None

    @property
    def heartbeats(self) -> tuple[SentReport, ...]:
        return tuple(r for r in self.reports if r.action is Action.HEARTBEAT)

    # -- assertions with messages that say what happened instead ---------------------------
    def describe(self) -> str:
        final = self.final_report
        sent = f"reported {final.action.value} ({final.outcome or final.error})" if final else "reported nothing"
        parts = [f"task {self.task_id} attempt {self.attempt}: {sent}; row state {self.state.value}"]
        if self.error_type:
            first_line = (self.error_message or "").split("\n", 1)[0]
            parts.append(f"error {self.error_type}: {first_line}")
        if self.raised is not None:
            parts.append(f"handler raised {type(self.raised).__name__}: {self.raised}")
        return "; ".join(parts)

    def assert_completed(self, result: Any = _ANY) -> WorkerRun:
        """Raise AssertionError unless this run's completion was applied and the row is completed
        (with ``result``, when given). Returns the run, so calls chain."""
        if self.raised is not None or self.reported is not Action.COMPLETED or self.outcome != "applied" \
                or self.state is not TaskState.COMPLETED:
            raise AssertionError(f"expected an applied completion: {self.describe()}")
        if result is not _ANY and self.result != result:
            raise AssertionError(f"task {self.task_id} completed with result {self.result!r}, "
                                 f"expected {result!r}")
        return self

    def assert_failed(self, error_type: str | None = None, *, state: TaskState | str | None = None) -> WorkerRun:
        """Raise AssertionError unless this run's failure was applied (the row is retrying or
        dead), with ``error_type`` and ``state`` when given. Returns the run."""
        if self.raised is not None or self.reported is not Action.FAILED or self.outcome != "applied" \
                or self.state not in (TaskState.RETRYING, TaskState.DEAD):
            raise AssertionError(f"expected an applied failure: {self.describe()}")
        if error_type is not None and self.error_type != error_type:
            raise AssertionError(f"task {self.task_id} failed with {self.error_type}, expected {error_type}")
        if state is not None and self.state is not TaskState(state):
            raise AssertionError(f"task {self.task_id} is {self.state.value}, expected {TaskState(state).value}")
        return self

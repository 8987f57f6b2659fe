"""The chaos worker (a real :class:`~sosw_core.services.worker.Worker`) and the reporter around it.

The worker does what :func:`~devtools.chaos.behaviours.choose` says for its attempt and
writes every run into the :class:`~devtools.chaos.ledger.Ledger`. Its work respects its
Lambda context: when the context has no time left the run is over (``KilledAtTimeout``),
whatever its behaviour, exactly as Lambda stops a function at its timeout.

The :class:`ChaosReporter` sits between the Worker base class and the real reporter (a
:class:`~sosw_core.services.worker.DirectReporter` to the WorkerAssistant). It delivers a ``duplicate``
run's completion twice and holds a ``late`` run's completion until its lease has ended, and
records the assistant's answer to every delivery in the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from devtools.chaos.behaviours import Behaviour, Mix, choose, work_seconds
from devtools.chaos.ledger import Ledger
from sosw_core.domain.events import Action, Report
from sosw_core.errors import ReportRejected
from sosw_core.services.worker import Reporter, Worker

STEP_SECONDS = 0.01  # how often a working run looks at its remaining time


class KilledAtTimeout(BaseException):  # noqa: N818 - what Lambda does to a function at its timeout
    """The run's Lambda context ran out of time: nothing after this runs, nothing is reported."""


class WorkerDied(BaseException):  # noqa: N818 - a crash the function cannot catch or report
    """The run died (e.g. out of memory): nothing is reported, the lease runs out."""


class InjectedCrash(RuntimeError):
    """A failure the worker raises on purpose; the Worker base class reports it."""


class ChaosWorker(Worker):
    """One per labourer; runs on many pool threads at once (per-call state is thread-local)."""

    def __init__(self, labourer_id: str, ledger: Ledger, *, mix: Mix, seed: int,
                 work: tuple[float, float] = (0.01, 0.15), reporter: Reporter | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(reporter)
        self.labourer_id = labourer_id
        self.ledger = ledger
        self.mix = mix
        self.seed = seed
        self.work = work
        self.sleep = sleep

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        inv = self.invocation
        if inv is None:
            raise InjectedCrash("a chaos worker runs only on tasks (no sosw_core envelope)")
        behaviour = choose(self.mix, self.seed, inv.task_id, inv.attempt)
        remaining = (self.remaining_time_ms() or 0) / 1000.0
        seq = self.ledger.begin(task_id=inv.task_id, labourer_id=self.labourer_id, attempt=inv.attempt,
                                token=inv.token, behaviour=behaviour.value, remaining_seconds=remaining,
                                lease_end=inv.deadline_at)
        killed = True
        try:
            if behaviour is Behaviour.CRASH_SILENT:
                raise WorkerDied(f"{inv.task_id} attempt {inv.attempt}")
            if behaviour is Behaviour.CRASH_REPORTED:
                killed = False
                raise InjectedCrash(f"{inv.task_id} attempt {inv.attempt} crashed on purpose")
            seconds = float("inf") if behaviour is Behaviour.HANG else work_seconds(
                self.seed, inv.task_id, inv.attempt, *self.work)
            self._work(seconds)
            killed = False
        finally:
            self.ledger.end(seq, killed=killed)
        return {"attempt": inv.attempt}

    def _work(self, seconds: float) -> None:
        """Work for ``seconds``, or until the context has no time left (then: killed)."""
        done_at = time.monotonic() + seconds
        while True:
            left_ms = self.remaining_time_ms()
            if left_ms is not None and left_ms <= 0:
                raise KilledAtTimeout(self.invocation.task_id if self.invocation else "")
            now = time.monotonic()
            if now >= done_at:
                return
            step = min(STEP_SECONDS, done_at - now)
            if left_ms is not None:
                step = min(step, left_ms / 1000.0)
            self.sleep(max(step, 0.001))


class ChaosReporter:
    """A :class:`~sosw_core.services.worker.Reporter` that duplicates and delays reports as told."""

    def __init__(self, inner: Reporter, ledger: Ledger, *, late_margin_seconds: float,
                 sleep: Callable[[float], None] = time.sleep):
        self.inner = inner
        self.ledger = ledger
        self.late_margin_seconds = late_margin_seconds
        self.sleep = sleep
        self.unmatched = 0  # reports from a thread whose current run is another task (a bug here)

    def report(self, report: Report) -> dict[str, Any]:
        inv = report.invocation
        seq = self.ledger.current()
        run = self.ledger.get(seq) if seq is not None else None
        if run is None or (run.task_id, run.attempt) != (inv.task_id, inv.attempt):
            self.unmatched += 1
            return self.inner.report(report)
        completed = report.action is Action.COMPLETED
        if completed and run.behaviour == Behaviour.LATE and run.lease_end is not None:
            wait = run.lease_end + self.late_margin_seconds - time.time()
            if wait > 0:  # outside the measured work: the run already ended in the ledger
                self.sleep(wait)
        response = self._deliver(seq, report, 1)
        if completed and run.behaviour == Behaviour.DUPLICATE:
            self._deliver(seq, report, 2)
        return response

    def _deliver(self, seq: int, report: Report, delivery: int) -> dict[str, Any]:
        action = report.action.value
        try:
            response = self.inner.report(report)
        except ReportRejected:
            self.ledger.answer(seq, action, "refused", delivery)
            raise
        except Exception as exc:
            self.ledger.answer(seq, action, f"error:{type(exc).__name__}", delivery)
            raise
        self.ledger.answer(seq, action, str(response.get("outcome")), delivery)
        return response

"""The Scavenger: ends expired leases, queues elapsed retries again, and alerts about dead tasks.

One sweep makes, per labourer, ONE ``Query`` of the deadline index (``deadline_at <= now``,
``Limit = scavenger.batch_limit``); every row is one of three things, handled by one guarded
write each:

=========  ================================  ===========================================
row state  meaning                           action
=========  ================================  ===========================================
INVOKED    the lease ran out                 ``expire`` → RETRYING (backoff) or DEAD
RETRYING   the backoff has elapsed           ``requeue`` → QUEUED, ahead of fresh tasks
DEAD       an alert is pending               ``take_alert`` (exactly one taker)
=========  ================================  ===========================================

Races tolerated: a heartbeat, completion or failure that lands between the query and the
write, or a second scavenger doing the same sweep, makes the write's guard fail; the row is
then counted as a lost race and left alone.

Alerts: a task this sweep kills is alerted in the same sweep, directly (no second query): the
alert is taken with ``take_alert`` right after ``expire``, so a concurrent scavenger that sees
the dead row can never take it too. All alerts taken in one sweep, over every labourer, are
published as ONE batch through the notifier (each alert names the task, its labourer, its
attempts and its last error, from the row ``take_alert`` returned). If publishing fails, every taken alert is returned
(``return_alert``) so that the next sweep sends it, and the error is raised after logging:
an alert is never sent twice by two scavengers, and never lost. (If the publish succeeded but
reported an error, the next sweep sends the batch again: at-least-once, like SNS itself.)

Closed tasks are removed by DynamoDB TTL (``expires_at``, set when the task closes, see
:class:`~sosw_core.config.model.RetentionConfig`): the Scavenger deletes nothing.

Only configured labourers are swept. One labourer's error is logged with its traceback and
recorded in the report; it never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sosw_core.clock import Clock
from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.ports import DeadlineWriter, DeadTaskAlert, DueReader, LambdaContext, Notifier
from sosw_core.domain.task import Task, TaskState
from sosw_core.services.orchestrator import run_ticks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did, over all labourers."""

    due: int = 0  # rows the queries returned
    expired: int = 0  # leases ended by this sweep (to RETRYING or DEAD)
    killed: int = 0  # of those, the ones that used up their attempts (DEAD)
    requeued: int = 0
    lost_races: int = 0  # rows another actor changed first (left alone)
    alerted: tuple[str, ...] = ()  # task ids published in this sweep's alert batch
    errors: tuple[tuple[str, str], ...] = ()  # (labourer_id, error) for labourers that failed
    labourers: tuple[LabourerSweep, ...] = ()  # per labourer that had rows or an error (metrics)


@dataclass(frozen=True)
class LabourerSweep:
    """What one sweep did for one labourer (``error`` set when its sweep stopped on an error)."""

    labourer_id: str
    due: int = 0
    expired: int = 0  # leases ended: ``expired - killed`` went to RETRYING
    killed: int = 0  # of those, the ones that went to DEAD
    requeued: int = 0
    lost_races: int = 0
    error: str | None = None


@dataclass
class _Sweep:
    due: int = 0
    expired: int = 0
    killed: int = 0
    requeued: int = 0
    lost_races: int = 0
    taken: list[Task] = field(default_factory=list)  # dead tasks whose alert this sweep took
    errors: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"due": self.due, "expired": self.expired, "killed": self.killed,
                "requeued": self.requeued, "lost_races": self.lost_races}

    def add(self, other: _Sweep) -> None:
        self.due += other.due
        self.expired += other.expired
        self.killed += other.killed
        self.requeued += other.requeued
        self.lost_races += other.lost_races
        self.taken += other.taken
        self.errors += other.errors


class Scavenger:
    def __init__(self, config: SoswConfig, *, tasks: DeadlineWriter, queries: DueReader, notifier: Notifier,
                 clock: Clock, sweep_seconds: float | None = None, stop_margin_seconds: float | None = None):
        """Built by :func:`sosw_core.wiring.build_scavenger`.

        ``clock``: read once per sweep by ``run``. ``sweep_seconds``: loop inside one Lambda
        invocation with this period (``run``); None sweeps once per invocation.
        ``stop_margin_seconds`` defaults to the orchestrator's."""
        self.config = config
        self.clock = clock
        self.queries = queries
        self.tasks = tasks
        self.notifier = notifier
        self.batch_limit = config.scavenger.batch_limit
        self.sweep_seconds = sweep_seconds
        self.stop_margin_seconds = (config.orchestrator.stop_margin_seconds
                                    if stop_margin_seconds is None else stop_margin_seconds)

    def sweep(self, now: float) -> SweepReport:
        """One pass over every labourer, then one alert batch; raises if publishing fails."""
        total = _Sweep()
        per_labourer: list[LabourerSweep] = []
        for labourer in self.config.labourers:
            part = _Sweep()
            try:
                self._sweep_labourer(part, labourer, now)
            except Exception as exc:  # the per-labourer boundary: logged with traceback, recorded
                part.errors.append((labourer.id, f"{type(exc).__name__}: {exc}"))
                logger.exception("sweep failed", extra={"labourer_id": labourer.id})
            logger.info("sweep", extra={"labourer_id": labourer.id, **part.counts(),
                                        "alerts_taken": len(part.taken)})
            total.add(part)
            if any(part.counts().values()) or part.errors:
                per_labourer.append(LabourerSweep(labourer.id, **part.counts(),
                                                  error=part.errors[0][1] if part.errors else None))
        alerted = self._publish(total.taken, now)
        return SweepReport(**total.counts(), alerted=alerted, errors=tuple(total.errors),
                           labourers=tuple(per_labourer))

    def run(self, context: LambdaContext | None,
            sleep: Callable[[float], None] = time.sleep) -> list[SweepReport]:
        """One sweep; or, with ``sweep_seconds`` and a context, sweeps until time runs low."""
        if self.sweep_seconds is None:
            return [self.sweep(self.clock.now())]
        return run_ticks(self.sweep, context=context, clock=self.clock, sleep=sleep,
                         every_seconds=self.sweep_seconds,
                         stop_margin_seconds=self.stop_margin_seconds)

    def _sweep_labourer(self, state: _Sweep, labourer: LabourerConfig, now: float) -> None:
        rows = self.queries.due(labourer.id, now, self.batch_limit)
        state.due += len(rows)
        for row in rows:
            if row.state is TaskState.INVOKED:
                outcome, new_state = self.tasks.expire(row.task_id, row.attempts, labourer, now)
                if outcome is not Outcome.APPLIED:
                    state.lost_races += 1
                    continue
                state.expired += 1
                if new_state is TaskState.DEAD:
                    state.killed += 1
                    self._take_alert(state, row.task_id, labourer.id)
            elif row.state is TaskState.RETRYING:
                outcome = self.tasks.requeue(row.task_id, labourer.id, row.deadline_at, now,
                                             attempt=row.attempts)
                if outcome is Outcome.APPLIED:
                    state.requeued += 1
                else:
                    state.lost_races += 1
            elif row.state is TaskState.DEAD:
                self._take_alert(state, row.task_id, labourer.id)
            else:  # the index holds no other state; a row mid-change is left for the next pass
                logger.warning("unexpected state in the deadline index",
                               extra={"labourer_id": labourer.id, "task_id": row.task_id,
                                      "state": row.state.value})

    def _take_alert(self, state: _Sweep, task_id: str, labourer_id: str) -> None:
        task = self.tasks.take_alert(task_id)
        if task is not None:
            state.taken.append(task)
        else:
            state.lost_races += 1  # another scavenger took it: that one sends it

    def _publish(self, taken: list[Task], now: float) -> tuple[str, ...]:
        """Send the taken alerts as one batch; on failure return every one of them and raise."""
        if not taken:
            return ()
        try:
            alerts = [DeadTaskAlert(task_id=t.task_id, labourer_id=t.labourer_id, attempts=t.attempts,
                                    error_type=t.error_type, error_message=t.error_message)
                      for t in taken]
            self.notifier.notify_dead(alerts)
        except Exception:
            logger.exception("publishing dead-task alerts failed; returning them for the next sweep",
                             extra={"alerts": len(taken)})
            for task in taken:
                self._return_alert(task.task_id, task.labourer_id, now)
            raise
        ids = tuple(task.task_id for task in taken)
        logger.info("dead-task alerts sent", extra={"alerts": len(ids), "task_ids": list(ids)})
        return ids

    def _return_alert(self, task_id: str, labourer_id: str, now: float) -> None:
        try:
            returned = self.tasks.return_alert(task_id, labourer_id, now)
        except Exception:  # keep returning the others; this alert is logged as lost
            logger.exception("could not return an alert: it will not be sent again",
                             extra={"labourer_id": labourer_id, "task_id": task_id})
            return
        if not returned:  # redriven meanwhile: nothing to alert about any more
            logger.warning("alert not returned (task no longer dead)",
                           extra={"labourer_id": labourer_id, "task_id": task_id})



def summarize(reports: list[SweepReport]) -> dict[str, object]:
    """The sweeps of one ``run`` as a JSON-able dict (a Lambda handler's return value)."""
    return {"sweeps": len(reports),
            "due": sum(r.due for r in reports),
            "expired": sum(r.expired for r in reports),
            "killed": sum(r.killed for r in reports),
            "requeued": sum(r.requeued for r in reports),
            "lost_races": sum(r.lost_races for r in reports),
            "alerted": sum(len(r.alerted) for r in reports),
            "errors": [{"labourer_id": lab, "error": err} for r in reports for lab, err in r.errors]}

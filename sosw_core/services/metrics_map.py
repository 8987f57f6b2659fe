"""From what the essentials report to the CloudWatch metrics they log (pure: no I/O, no clock).

Where every figure comes from (each state change is counted once, by the one that applied it;
duplicate and stale reports count nothing):

===============  ========================================  ==========================  ==============================
metric           Orchestrator (per tick, per labourer)     Scavenger (per sweep)       WorkerAssistant (per report)
===============  ========================================  ==========================  ==============================
QueuedTasks      0 when the tick's queue read reached the  -                           -
                 end of the queue; else one ``COUNT``
                 per run (:mod:`sosw_core.services.metered`)
RunningTasks     ``running`` + ``invoked`` (after the      -                           -
                 dispatch), when ``running`` was read
InvokedTasks     ``invoked``                               -                           1 per hand-off (``chained``)
CompletedTasks   -                                         -                           1 per applied completion
FailedTasks      -                                         lease expired → retrying    1 per applied failure → retrying
DeadTasks        -                                         lease expired → dead        1 per applied failure → dead
DispatchLatency  ``waits`` in ms, one sample per task      -                           -
TickDuration     per tick (``Component=orchestrator``)     per sweep (``scavenger``)   -
EssentialErrors  labourers whose dispatch failed or whose  labourers whose sweep       - (raised: Lambda ``Errors``)
                 invoke Lambda refused (``InvokeError``)   failed
ReportsRefused   -                                         -                           1 per refused report
===============  ========================================  ==========================  ==============================

``ReportsRefused`` (alarmed on) has the ``Labourer`` dimension when the refused report's
labourer is a configured one (a report naming an unknown task or labourer, or a malformed one,
is counted in the roll-up only: a dimension value is never taken from an unchecked event).

A refused invoke (``StopReason.INVOKE_FAILED``: no permission, e.g. a labourer's ARN outside
the stack's ``LabourerFunctionArns``; the function or qualifier missing; throttled) puts the
task back at the front of its queue without counting an attempt, so no task metric moves:
it is counted in ``EssentialErrors``, which the stack alarms on.

``FailedTasks`` counts attempts that failed and will be retried; the attempt that makes a task
give up counts as ``DeadTasks`` only, so ``FailedTasks + DeadTasks`` is every failed attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sosw_core.adapters import metrics
from sosw_core.domain.dispatch import StopReason
from sosw_core.domain.events import Action
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import TaskState
from sosw_core.services.orchestrator import DispatchRecord
from sosw_core.services.scavenger import SweepReport


@dataclass(frozen=True)
class LabourerFigures:
    """One labourer's figures from one source; ``None``: not this source's figure."""

    labourer_id: str
    queued: int | None = None
    running: int | None = None
    invoked: int | None = None
    completed: int | None = None
    failed: int | None = None
    dead: int | None = None
    latency_ms: tuple[float, ...] = ()  # one sample per invoked task
    refused: int | None = None

    def values(self) -> dict[str, float]:
        given = {metrics.QUEUED: self.queued, metrics.RUNNING: self.running,
                 metrics.INVOKED: self.invoked, metrics.COMPLETED: self.completed,
                 metrics.FAILED: self.failed, metrics.DEAD: self.dead, metrics.REFUSED: self.refused}
        return {name: value for name, value in given.items() if value is not None}


def queue_seen_empty(record: DispatchRecord) -> bool:
    """True when this dispatch read the labourer's queue to its end.

    A dispatch stops with :attr:`StopReason.QUEUE_EMPTY` when a queue read returned fewer tasks
    than it asked for: the whole queue was seen (and claimed), so its depth is known to be 0
    without another request.
    """
    return record.error is None and record.stopped_because is StopReason.QUEUE_EMPTY


def from_dispatch(record: DispatchRecord) -> LabourerFigures:
    """An Orchestrator dispatch (a tick's record, or a single-labourer dispatch)."""
    return LabourerFigures(
        record.labourer_id,
        queued=0 if queue_seen_empty(record) else None,
        running=None if record.running is None else record.running + record.invoked,
        invoked=record.invoked,
        latency_ms=tuple(round(wait * 1000.0, 3) for wait in record.waits))


def dispatch_errors(records: Iterable[DispatchRecord]) -> int:
    """Labourers whose dispatch raised, or whose invoke Lambda refused (see the module docstring)."""
    return sum(1 for record in records
               if record.error is not None or record.stopped_because is StopReason.INVOKE_FAILED)


def from_sweep(report: SweepReport) -> list[LabourerFigures]:
    """Leases the sweep ended, per labourer: to RETRYING (failed) or to DEAD (dead)."""
    return [LabourerFigures(lab.labourer_id, failed=lab.expired - lab.killed, dead=lab.killed)
            for lab in report.labourers if lab.expired]


def sweep_errors(report: SweepReport) -> int:
    return len(report.errors)


def from_report(response: Mapping[str, Any]) -> LabourerFigures | None:
    """A WorkerAssistant report, from the response it returned (which names the labourer).

    ``None`` when the report changed nothing worth counting (a duplicate, a stale report, a
    heartbeat, a refusal: :func:`refusal_records` counts those).
    """
    if response.get("outcome") != Outcome.APPLIED:
        return None
    labourer_id = response["labourer_id"]
    action, state = response.get("action"), response.get("state")
    if action == Action.COMPLETED:
        chained = int(response.get("chained") or 0)
        return LabourerFigures(labourer_id, completed=1, invoked=chained or None)
    if action == Action.FAILED and state == TaskState.DEAD:
        return LabourerFigures(labourer_id, dead=1)
    if action == Action.FAILED and state == TaskState.RETRYING:
        return LabourerFigures(labourer_id, failed=1)
    return None


def labourer_records(figures: LabourerFigures, now: float) -> list[dict[str, Any]]:
    """The EMF records of one labourer's figures: latency samples in arrays of at most 100.

    The first record carries the counts and gauges; further ones carry only latency samples.
    ``DeadTasks`` is rolled up without dimensions for the alarm.
    """
    dimensions = {metrics.LABOURER_DIMENSION: figures.labourer_id}
    samples = list(figures.latency_ms)
    out: list[dict[str, Any]] = []
    first: dict[str, Any] = dict(figures.values())
    while first or samples:
        if samples:
            first[metrics.DISPATCH_LATENCY] = samples[:metrics.MAX_VALUES]
            samples = samples[metrics.MAX_VALUES:]
        rollup = tuple(name for name in metrics.ROLLED_UP if name in first)
        out.append(metrics.build_record(first, dimensions, metrics.NAMESPACE, None,
                                        rollup=rollup, now=now))
        first = {}
    return out


def refusal_records(labourer_id: str | None, now: float) -> list[dict[str, Any]]:
    """One refused report: per labourer (and rolled up) when its labourer is known, else rolled up only."""
    if labourer_id is not None:
        return labourer_records(LabourerFigures(labourer_id, refused=1), now)
    return [metrics.build_record({metrics.REFUSED: 1}, {}, metrics.NAMESPACE, None, rollup=(), now=now)]


def component_record(component: str, seconds: float, errors: int, now: float) -> dict[str, Any]:
    """One pass of an essential: its duration and its errors (rolled up for the alarm)."""
    return metrics.build_record({metrics.TICK_DURATION: seconds, metrics.ERRORS: errors},
                                {metrics.COMPONENT_DIMENSION: component}, metrics.NAMESPACE, None,
                                rollup=(metrics.ERRORS,), now=now)

"""The essentials with their CloudWatch metrics: EMF lines on stdout, no CloudWatch API calls.

:class:`MeteredOrchestrator` and :class:`MeteredScavenger` wrap an Orchestrator / Scavenger
(composition: they call only its public ``tick`` / ``sweep``) and log, after every pass, the
figures :mod:`sosw_core.services.metrics_map` derives from its records, plus the pass's duration and
errors. What goes into each metric is documented there.

Queue depth costs at most ONE extra DynamoDB request per labourer per Lambda invocation, and
none for an idle labourer:

* a dispatch whose queue read reached the end of the queue (``stopped_because`` is
  ``StopReason.QUEUE_EMPTY``: the read returned fewer tasks than it asked for) knows the depth
  is 0 — free, and
  an idle labourer always ends this way, so the benchmark's requests per idle labourer per
  orchestrator + scavenger pass are unchanged;
* otherwise (tasks were left in the queue, or the queue was not read: health, rate limit, the
  labourer at its maximum, another orchestrator holding its dispatch lease, an error), the
  first tick of a run makes one ``Query`` with ``Select=COUNT`` on the queue index and does not
  follow ``LastEvaluatedKey``: one page, which DynamoDB ends after 1 MB of index data (about
  8,000 queued tasks; each queue entry projects its keys and ``attempts`` only). Above that
  the value is a lower bound ("at least"), logged as such; reading a deep queue to its end
  every minute would cost up to 128 read units per MB, every minute.

Later ticks of the same run log a depth only when they see the queue empty (free). With the
deployed schedule (one run per minute, the dashboard's period) that is one depth per labourer
per minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, TextIO

from sosw_core.adapters import metrics
from sosw_core.domain.ports import LambdaContext
from sosw_core.services.metrics_map import (
    component_record,
    dispatch_errors,
    from_dispatch,
    from_report,
    from_sweep,
    labourer_records,
    queue_seen_empty,
    refusal_records,
    sweep_errors,
)
from sosw_core.services.orchestrator import DispatchRecord, Orchestrator, RunReport, run_ticks
from sosw_core.services.scavenger import Scavenger, SweepReport

logger = logging.getLogger(__name__)

Timer = Callable[[], float]  # monotonic seconds, for durations


class QueueDepthReader(Protocol):
    """labourer id -> (queued, complete); e.g. ``TaskQueries.queue_depth_page``."""

    def __call__(self, labourer_id: str) -> tuple[int, bool]: ...


class MeteredOrchestrator:
    """Runs an Orchestrator like :meth:`Orchestrator.run` and logs each tick's metrics."""

    COMPONENT = "orchestrator"

    def __init__(self, orchestrator: Orchestrator, depth: QueueDepthReader, *,
                 timer: Timer = time.perf_counter, stream: TextIO | None = None):
        self.orchestrator = orchestrator
        self.depth = depth
        self.timer = timer
        self.stream = stream
        self._depth_pending: set[str] = set()

    def run(self, context: LambdaContext | None,
            sleep: Callable[[float], None] = time.sleep) -> RunReport:
        """The Orchestrator's run loop (same settings), with one queue depth per labourer per run."""
        self._depth_pending = {lab.id for lab in self.orchestrator.config.labourers}
        return self.orchestrator.run(context, sleep, tick=self.tick)

    def tick(self, now: float) -> list[DispatchRecord]:
        started = self.timer()
        records = self.orchestrator.tick(now)
        seconds = self.timer() - started
        lines: list[dict[str, Any]] = []
        errors = dispatch_errors(records)
        for record in records:
            figures = from_dispatch(record)
            if record.labourer_id in self._depth_pending:
                self._depth_pending.discard(record.labourer_id)
                if not queue_seen_empty(record):
                    queued = self._read_depth(record.labourer_id)
                    errors += queued is None
                    figures = figures if queued is None else replace(figures, queued=queued)
            lines += labourer_records(figures, now)
        lines.append(component_record(self.COMPONENT, seconds, errors, now))
        metrics.write(lines, self.stream)
        return records

    def _read_depth(self, labourer_id: str) -> int | None:
        try:
            count, complete = self.depth(labourer_id)
        except Exception:  # a metric must never stop dispatch: logged with traceback, counted
            logger.exception("queue depth not read", extra={"labourer_id": labourer_id})
            return None
        if not complete:
            logger.info("queue depth is at least this (one page counted)",
                        extra={"labourer_id": labourer_id, "queued_at_least": count})
        return count


class MeteredScavenger:
    """Runs a Scavenger like :meth:`Scavenger.run` and logs each sweep's metrics."""

    COMPONENT = "scavenger"

    def __init__(self, scavenger: Scavenger, *, timer: Timer = time.perf_counter,
                 stream: TextIO | None = None):
        self.scavenger = scavenger
        self.timer = timer
        self.stream = stream

    def run(self, context: LambdaContext | None,
            sleep: Callable[[float], None] = time.sleep) -> list[SweepReport]:
        s = self.scavenger
        if s.sweep_seconds is None:
            return [self.sweep(s.clock.now())]
        return run_ticks(self.sweep, context=context, clock=s.clock, sleep=sleep,
                         every_seconds=s.sweep_seconds, stop_margin_seconds=s.stop_margin_seconds)

    def sweep(self, now: float) -> SweepReport:
        started = self.timer()
        try:
            report = self.scavenger.sweep(now)
        except Exception:  # publishing alerts failed: the pass is one error, then re-raised
            metrics.write([component_record(self.COMPONENT, self.timer() - started, 1, now)], self.stream)
            raise
        lines = [line for figures in from_sweep(report) for line in labourer_records(figures, now)]
        lines.append(component_record(self.COMPONENT, self.timer() - started, sweep_errors(report), now))
        metrics.write(lines, self.stream)
        return report


def log_report_metrics(response: dict[str, Any], now: float,
                       stream: TextIO | None = None) -> dict[str, Any]:
    """The WorkerAssistant's figures for one applied report; returns ``response`` unchanged."""
    figures = from_report(response)
    if figures is not None:
        metrics.write(labourer_records(figures, now), stream)
    return response


def log_refused_report(labourer_id: str | None, now: float, stream: TextIO | None = None) -> None:
    """The WorkerAssistant's ``on_refused`` hook: one ``ReportsRefused`` (see metrics_map)."""
    metrics.write(refusal_records(labourer_id, now), stream)

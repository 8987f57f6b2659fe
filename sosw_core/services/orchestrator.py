"""The Orchestrator: turns queued tasks into worker invocations, as fast as health allows.

One tick, for every labourer independently (an error in one is logged with its traceback,
recorded in its :class:`DispatchRecord`, and never stops the others):

1. **rate limit** (no I/O): ``max_invocations_per_minute`` minus the invocations this instance
   made in the last 60 s (a sliding window over the ``now`` values of its ticks);
2. **health**: the status of the labourer's CloudWatch metrics, read through the tick's cached
   reader, so a metric shared by several labourers is fetched once per tick; the cap is
   ``floor(max x coefficient)``, and at 0 nothing is read from DynamoDB;
3. **queue**: one ``Query`` with ``Limit=cap``; an empty queue ends the labourer's turn (an
   idle labourer costs this one request);
4. **running**: one ``Query`` (``Select=COUNT``) on the deadline index; a labourer already at
   its cap ends its turn here (two requests);
5. **dispatch lease**: one guarded ``UpdateItem`` (:class:`~sosw_core.domain.ports.DispatchLock`), so
   that of all orchestrators only one dispatches the labourer at a time (a held lease skips the
   labourer for this tick), and ``running`` counted again under it — that count is binding;
6. **claim and invoke**: ``desired = cap - running`` (capped by the rate limit); per task one
   guarded ``UpdateItem`` (the claim) and one asynchronous Lambda invoke; then the lease is
   released (one guarded ``UpdateItem``).

Races tolerated:

* Two orchestrators that read the same queue head: only the lease holder claims; and a claim
  also races the completion hand-offs (:mod:`sosw_core.services.handoff`): the claim's guard lets
  exactly one win, the loser skips the task. If claims were lost and fewer than desired were
  made, one more queue read is allowed, skipping the ids already seen (the queue index is
  eventually consistent and may still list them).
* An invoke that raises :class:`InvokeError` was not accepted: the task is released at once
  (back to the front of the queue, attempt not counted) and the labourer stops for this tick.
  Any other exception from the invoker leaves the task INVOKED, because the invocation may have
  been accepted; its lease then runs out and the Scavenger retries it (one attempt counted).

Concurrency bound (what is guaranteed, not hoped for): tasks INVOKED never exceed
``max_simultaneous_invocations``. Claims by dispatches happen only under the labourer's
dispatch lease, after counting; completion hand-offs swap one INVOKED task for another in one
transaction; every other transition only lowers the count. A worker run ends before its task
leaves INVOKED (it reports after its work; a Lambda is killed at its timeout, which must not
exceed the lease ``max_duration_seconds``), so runs in progress never exceed INVOKED tasks.
The count is read from a GSI: on DynamoDB Local it is exact; on AWS a claim made by the
previous lease holder within the index's propagation delay (typically well under a second)
may be missed. A dispatch stops claiming when half its lease has passed (``timer``), so a
slow dispatch never overlaps the next holder's.

``max_invocations_per_minute`` is held per Orchestrator instance (per Lambda container), and
labourers that set it are not handed off on completion.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sosw_core.clock import Clock
from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.domain.dispatch import StopReason
from sosw_core.domain.events import worker_event
from sosw_core.domain.health import desired_invocations, labourer_status
from sosw_core.domain.outcomes import Outcome, QueuedRef
from sosw_core.domain.ports import (
    DispatchLock,
    Invoker,
    LambdaContext,
    MetricsReader,
    MetricsReaderFactory,
    QueueReader,
    TaskClaimer,
    TaskReleaser,
)
from sosw_core.domain.task import Task
from sosw_core.errors import InvokeError

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60.0
MAX_QUEUE_READS = 2  # the first read, plus one more when claims were lost to another dispatcher
DISPATCH_LEASE_SECONDS = 30.0  # a dispatcher that dies blocks its labourer at most this long
T = TypeVar("T")

# LambdaContext, MetricsReader and MetricsReaderFactory are the domain's ports, re-exported here
__all__ = ["DISPATCH_LEASE_SECONDS", "DispatchRecord", "LambdaContext", "MetricsReader",
           "MetricsReaderFactory", "Orchestrator", "RateWindow", "RunReport", "StopReason",
           "give_back", "run_ticks"]


@dataclass(frozen=True)
class DispatchRecord:
    """What one labourer's dispatch did in one tick (also logged as one INFO record)."""

    labourer_id: str
    status: int | None  # None: not computed (rate limited, or an error before it)
    metric_values: tuple[tuple[str, float | None], ...]
    running: int | None  # None: not read (health allowed nothing, or rate limited)
    desired: int
    invoked: int
    stopped_because: StopReason
    task_ids: tuple[str, ...] = ()  # invoked, in order (not logged at INFO)
    claims_lost: int = 0
    error: str | None = None  # set with StopReason.ERROR: the exception, as "Type: message"
    waits: tuple[float, ...] = ()  # per invoked task: seconds from runnable to invoked
    detail: str | None = None  # set with StopReason.INVOKE_FAILED: the invoker's reason

    def log_fields(self) -> dict[str, Any]:
        return {"labourer_id": self.labourer_id, "status": self.status,
                "metric_values": dict(self.metric_values), "running": self.running,
                "desired": self.desired, "invoked": self.invoked, "claims_lost": self.claims_lost,
                "stopped_because": self.stopped_because.value, "detail": self.detail,
                "error": self.error,
                "max_wait_seconds": round(max(self.waits), 3) if self.waits else None}


@dataclass(frozen=True)
class RunReport:
    """The ticks of one ``run`` (one Lambda invocation)."""

    ticks: int
    records: tuple[DispatchRecord, ...]

    def summary(self) -> dict[str, Any]:
        invoked: dict[str, int] = {}
        for record in self.records:
            invoked[record.labourer_id] = invoked.get(record.labourer_id, 0) + record.invoked
        errors = [{"labourer_id": r.labourer_id, "error": r.error} for r in self.records if r.error]
        return {"ticks": self.ticks, "invoked": invoked, "errors": errors}


@dataclass
class _Progress:
    """The mutable draft of a DispatchRecord while one labourer is being dispatched."""

    labourer_id: str
    status: int | None = None
    metric_values: tuple[tuple[str, float | None], ...] = ()
    running: int | None = None
    desired: int = 0
    rate_capped: bool = False
    task_ids: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    claims_lost: int = 0
    stopped_because: StopReason = StopReason.ERROR  # every path sets its reason before returning
    error: str | None = None
    detail: str | None = None

    def freeze(self) -> DispatchRecord:
        return DispatchRecord(self.labourer_id, self.status, self.metric_values, self.running,
                              self.desired, len(self.task_ids), self.stopped_because,
                              tuple(self.task_ids), self.claims_lost, self.error, tuple(self.waits),
                              self.detail)


class RateWindow:
    """Invocations per labourer in the last 60 s, from the ``now`` values passed in."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def allowance(self, labourer: LabourerConfig, now: float) -> int | None:
        """How many more invocations fit now; None when the labourer has no rate limit."""
        if labourer.max_invocations_per_minute is None:
            return None
        times = self._times.setdefault(labourer.id, deque())
        while times and times[0] <= now - RATE_WINDOW_SECONDS:
            times.popleft()
        return labourer.max_invocations_per_minute - len(times)

    def record(self, labourer_id: str, now: float) -> None:
        self._times.setdefault(labourer_id, deque()).append(now)


class Orchestrator:
    """Dispatches every configured labourer once per tick. One instance serves one thread."""

    def __init__(self, config: SoswConfig, *, tasks: TaskClaimer, queries: QueueReader,
                 leases: DispatchLock, invoker: Invoker, metrics: MetricsReaderFactory, clock: Clock,
                 rng: random.Random | None = None, timer: Callable[[], float] = time.monotonic):
        """Built by :func:`sosw_core.wiring.build_orchestrator`.

        ``leases``: the dispatch leases that keep concurrent orchestrators from overfilling a
        labourer (required: without them two dispatches of one labourer could both fill its
        free slots). ``metrics``: ``now`` → a health-metrics reader cached for that tick.

        ``clock``: the object's one clock. ``run`` reads it once per tick, and a dispatch reads
        it again right before each claim, so a lease starts when its task is claimed, not when
        a slow (throttled) tick began."""
        self.config = config
        self.queries = queries
        self.tasks = tasks
        self.invoker = invoker
        self.metrics_reader_factory = metrics
        self.rng = rng or random.Random()
        self.window = RateWindow()
        self.leases = leases
        self.timer = timer
        self.clock = clock
        self.owner = f"orchestrator-{uuid.uuid4().hex[:12]}"  # this instance, in lease rows

    def tick(self, now: float) -> list[DispatchRecord]:
        """Dispatch every labourer once; records in configuration order.

        Labourers are visited in a random order (``rng``), so that when a tick runs long no
        labourer is always the last one served.
        """
        reader = self.metrics_reader_factory(now)
        order = list(self.config.labourers)
        self.rng.shuffle(order)
        records = {lab.id: self._dispatch(lab, now, reader) for lab in order}
        return [records[lab.id] for lab in self.config.labourers]

    def run(self, context: LambdaContext | None, sleep: Callable[[float], None] = time.sleep, *,
            tick: Callable[[float], list[DispatchRecord]] | None = None) -> RunReport:
        """Tick every ``tick_seconds`` until less than ``stop_margin_seconds`` of Lambda time is left.

        ``tick``: what one tick runs, :meth:`tick` by default (a wrapper such as
        :class:`sosw_core.services.metered.MeteredOrchestrator` passes its own, which calls :meth:`tick`).
        """
        settings = self.config.orchestrator
        ticks = run_ticks(tick or self.tick, context=context, clock=self.clock, sleep=sleep,
                          every_seconds=settings.tick_seconds,
                          stop_margin_seconds=settings.stop_margin_seconds)
        return RunReport(ticks=len(ticks), records=tuple(r for tick in ticks for r in tick))

    # -- one labourer ----------------------------------------------------------------------
    def _dispatch(self, labourer: LabourerConfig, now: float, reader: MetricsReader) -> DispatchRecord:
        progress = _Progress(labourer.id)
        try:
            self._dispatch_into(progress, labourer, now, reader)
        except Exception as exc:  # the per-labourer boundary: logged with traceback, recorded
            progress.error = f"{type(exc).__name__}: {exc}"
            progress.stopped_because = StopReason.ERROR
            logger.exception("dispatch failed", extra={"labourer_id": labourer.id,
                                                       "invoked": len(progress.task_ids)})
        record = progress.freeze()
        logger.info("dispatch", extra=record.log_fields())
        return record

    def _dispatch_into(self, p: _Progress, labourer: LabourerConfig, now: float,
                       reader: MetricsReader) -> None:
        allowed = self.window.allowance(labourer, now)
        if allowed is not None and allowed <= 0:
            p.stopped_because = StopReason.RATE_LIMIT
            return
        metrics = labourer.health_metrics
        values = [reader.value(metric) for metric in metrics]
        p.metric_values = tuple((m.name, v) for m, v in zip(metrics, values, strict=True))
        p.status = labourer_status(metrics, values)
        coefficients = self.config.orchestrator.status_coefficients
        maximum = labourer.max_simultaneous_invocations
        cap = desired_invocations(maximum, p.status, coefficients, 0)
        if cap <= 0:
            p.stopped_because = StopReason.UNHEALTHY  # running cannot change that: not read
            return
        refs = self.queries.next_queued(labourer.id, min(cap, allowed) if allowed is not None else cap)
        if not refs:
            p.stopped_because = StopReason.QUEUE_EMPTY  # nothing to claim: no lease, no count
            return
        p.running = self.queries.count_running(labourer.id)  # a saturated labourer stops here
        if desired_invocations(maximum, p.status, coefficients, p.running) <= 0:
            p.stopped_because = StopReason.AT_MAXIMUM
            return
        if not self.leases.acquire(labourer.id, self.owner, now, DISPATCH_LEASE_SECONDS):
            p.stopped_because = StopReason.LEASE_HELD
            return
        try:
            p.running = self.queries.count_running(labourer.id)  # under the lease: this count is binding
            desired = desired_invocations(maximum, p.status, coefficients, p.running)
            if desired <= 0:
                p.stopped_because = StopReason.AT_MAXIMUM
                return
            if allowed is not None and allowed < desired:
                desired, p.rate_capped = allowed, True
            p.desired = desired
            self._claim_and_invoke(p, labourer, now, refs)
        finally:
            if not self.leases.release(labourer.id, self.owner):
                logger.warning("dispatch lease was lost before release",
                               extra={"labourer_id": labourer.id, "owner": self.owner})

    def _claim_and_invoke(self, p: _Progress, labourer: LabourerConfig, now: float,
                          first: list[QueuedRef]) -> None:
        seen: set[str] = set()
        started = self.timer()
        for read in range(MAX_QUEUE_READS):
            wanted = p.desired - len(p.task_ids)
            # a second read asks past the ids already seen: the index may still list them
            limit = wanted + (len(seen) if read else 0)
            refs = first[:limit] if read == 0 else self.queries.next_queued(labourer.id, limit)
            for ref in refs:
                if len(p.task_ids) >= p.desired:
                    break
                if ref.task_id in seen:
                    continue
                if self.timer() - started > DISPATCH_LEASE_SECONDS / 2:
                    p.stopped_because = StopReason.LEASE_HALF_SPENT
                    return
                seen.add(ref.task_id)
                claimed_at = self.clock.now()
                task = self.tasks.claim(ref.task_id, ref.attempts, labourer, claimed_at)
                if task is None:  # another dispatcher or a hand-off claimed it first (or it closed)
                    p.claims_lost += 1
                    continue
                try:
                    self.invoker.invoke(labourer.function_name, worker_event(task))
                except InvokeError as exc:
                    p.stopped_because, p.detail = StopReason.INVOKE_FAILED, exc.reason[:300]
                    give_back(self.tasks, task, claimed_at, exc)
                    return
                p.task_ids.append(task.task_id)
                if ref.runnable_at is not None:
                    p.waits.append(max(0.0, claimed_at - ref.runnable_at))
                self.window.record(labourer.id, now)
                logger.debug("invoked", extra={"labourer_id": labourer.id, "task_id": task.task_id,
                                               "attempt": task.attempts})
            if len(p.task_ids) >= p.desired:
                p.stopped_because = StopReason.RATE_LIMIT if p.rate_capped else StopReason.DESIRED_REACHED
                return
            if len(refs) < limit:
                p.stopped_because = StopReason.QUEUE_EMPTY
                return
        p.stopped_because = StopReason.CLAIMS_LOST


def give_back(tasks: TaskReleaser, task: Task, now: float, exc: InvokeError) -> Outcome:
    """An invoke that raised InvokeError was not accepted: release the claimed task at once (front
    of the queue, attempt not counted). Shared by dispatches and completion hand-offs."""
    outcome = tasks.release(task, now, f"invoke failed: {exc.reason}")
    log = logger.warning if outcome is Outcome.APPLIED else logger.error
    log("invoke failed; task given back", extra={"labourer_id": task.labourer_id,
                                               "task_id": task.task_id, "release": outcome.value,
                                               "reason": exc.reason[:300]})
    return outcome


def run_ticks(step: Callable[[float], T], *, context: LambdaContext | None, clock: Clock,
              sleep: Callable[[float], None], every_seconds: float,
              stop_margin_seconds: float) -> list[T]:
    """Call ``step(now)`` every ``every_seconds`` while at least ``stop_margin_seconds`` remain.

    The clock is read once per step. Without a Lambda context: one step. Shared by the
    Orchestrator and the Scavenger.
    """
    if context is None:
        return [step(clock.now())]
    results: list[T] = []
    margin_ms = stop_margin_seconds * 1000.0
    while True:
        started_ms = context.get_remaining_time_in_millis()
        if started_ms < margin_ms:
            return results
        results.append(step(clock.now()))
        left_ms = context.get_remaining_time_in_millis()
        wait = max(0.0, every_seconds - (started_ms - left_ms) / 1000.0)
        if left_ms - wait * 1000.0 < margin_ms:
            return results
        sleep(wait)


"""The Scheduler side of the chaos run: jobs, a Scheduler Lambda killed mid-ingest, re-sends.

Every task enters through the real ingestion path (:class:`~sosw_core.services.ingest.Ingestor`),
one job per labourer. The first job's ingestion runs on a Scheduler "Lambda" that dies
part-way through a page (:class:`KillSwitch`): some 25-item writes of the page landed, the
others never left, and the job record still names the dead invocation as its owner. Then the
other jobs are sent, and the first one is sent again every ``resend_seconds`` (as Lambda and
EventBridge retry) until an invocation takes it over, which needs the dead one's lease to
run out first. Continuations (an invocation running low on time hands the job over and
invokes the Scheduler again) run in the shared local invoker, like any Lambda.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sosw_core.adapters.dynamodb import Store
from sosw_core.adapters.invokers.local import LocalContext
from sosw_core.clock import Clock
from sosw_core.config.model import SoswConfig
from sosw_core.wiring import build_scheduler

logger = logging.getLogger(__name__)

LAMBDA_RETRIES = 2  # Lambda retries a failed asynchronous invocation twice
RETRY_PAUSE_SECONDS = 1.0  # (Lambda waits a minute, then two; shortened like the "minute")


class Killed(BaseException):  # noqa: N818 - the process dies: no error boundary sees it
    """The Scheduler's Lambda died in the middle of an ingestion."""


def job_event(job_id: str, labourer_id: str, items: Sequence[str]) -> dict[str, Any]:
    """A sosw 0.7 job with one task per item (``isolate_items``)."""
    return {"lambda_name": labourer_id, "sosw_core": {"job_id": job_id}, "isolate_items": True,
            "items": list(items)}


class KillSwitch:
    """Fires once: in the invocation whose write would pass ``kill_after`` rows of ``job_id``.

    Whichever invocation that is (the first one, or a continuation it handed over to), it dies
    there: that write and every later request of that invocation raise :class:`Killed`
    instead of being sent. Writes its other writer threads already sent complete, as requests
    in flight do when a process dies. Later invocations (the re-sent job) are not affected.
    """

    def __init__(self, job_id: str, kill_after: int):
        self.job_id = job_id
        self.kill_after = kill_after
        self.sent = 0  # rows of the job let through before the kill
        self.fired = threading.Event()
        self.victim: DyingBatch | None = None
        self._lock = threading.Lock()

    def admit(self, batch: DyingBatch, rows: Sequence) -> bool:
        """May ``batch`` (one invocation's) send ``rows``? False: it dies here, or died before."""
        mine = sum(1 for row in rows if _job_of(row) == self.job_id)
        with self._lock:
            if self.victim is not None:
                return batch is not self.victim
            if mine and self.sent + mine > self.kill_after:
                self.victim = batch
                self.fired.set()
                return False
            self.sent += mine
            return True


def _job_of(row: Any) -> str | None:
    """The job id of a row to write: a low-level DynamoDB item, or a pynamodb row."""
    if isinstance(row, dict):
        value = row.get("job_id")
        return value.get("S") if isinstance(value, dict) else None
    return getattr(row, "job_id", None)


class DyingBatch:
    """One invocation's :class:`~sosw_core.adapters.dynamodb.batch.BatchCreator`, subject to the switch."""

    def __init__(self, real: Any, switch: KillSwitch):
        self.real = real
        self.store = real.store
        self.switch = switch

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        if self.switch.victim is self:
            raise Killed("the Scheduler is dead")
        return self.real.existing_ids(task_ids)

    def row_factory(self, now: float) -> Any:
        return self.real.row_factory(now)

    def write_rows(self, rows: Sequence) -> None:
        if not self.switch.admit(self, rows):
            raise Killed(f"the Scheduler died ({self.switch.sent} rows of {self.switch.job_id} sent)")
        self.real.write_rows(rows)


@dataclass
class IngestLog:
    """What happened on the Scheduler side (figures for the report; checked by the audit)."""

    killed_job: str = ""
    killed_job_total: int = 0
    kill_after: int = 0
    killed: bool = False
    rows_sent_before_kill: int = 0
    rows_in_table_after_kill: int = -1  # counted in the table right after the kill
    resends: int = 0  # re-sends of the killed job, including the one that took it over
    resends_while_leased: int = 0  # answered "duplicate": the dead invocation's lease still held
    taken_over: bool = False
    invocations: int = 0  # Scheduler invocations that returned (first calls, re-sends, continuations)
    continuations: int = 0  # invocations that handed over to a continuation
    retries: int = 0  # invocations re-run after an error (Lambda's async retries)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, result: dict[str, Any]) -> None:
        with self._lock:
            self.invocations += 1
            if result.get("state") == "continued":
                self.continuations += 1

    def as_json(self) -> dict[str, Any]:
        return {"killed_job": self.killed_job, "killed_job_total": self.killed_job_total,
                "kill_after_rows": self.kill_after, "killed": self.killed,
                "rows_sent_before_kill": self.rows_sent_before_kill,
                "rows_in_table_after_kill": self.rows_in_table_after_kill, "resends": self.resends,
                "resends_while_leased": self.resends_while_leased, "taken_over": self.taken_over,
                "invocations": self.invocations, "continuations": self.continuations,
                "retries": self.retries, "errors": self.errors}


class SchedulerLambda:
    """The Scheduler function: one Ingestor per invocation, Lambda's async retries on error."""

    def __init__(self, config: SoswConfig, store: Store, invoker: Any, clock: Clock, log: IngestLog,
                 switch: KillSwitch, *, as_of: date, timeout_seconds: float, page_size: int,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.store = store
        self.invoker = invoker
        self.clock = clock
        self.log = log
        self.switch = switch
        self.as_of = as_of
        self.timeout_seconds = timeout_seconds
        self.page_size = page_size
        self.sleep = sleep
        self.jobs = store.jobs

    def context(self) -> LocalContext:
        return LocalContext(self.config.scheduler_function, self.timeout_seconds)

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """The handler (the local invoker calls it for continuations); retried like Lambda.

        :class:`Killed` is not an ``Exception``: it ends the invocation with no retry.
        """
        for attempt in range(LAMBDA_RETRIES + 1):
            dying = replace(self.store, batch=DyingBatch(self.store.batch, self.switch))
            ingestor = build_scheduler(self.config, dying, invoker=self.invoker, clock=self.clock,
                                       page_size=self.page_size)
            try:
                result = ingestor.handle(event, context or self.context(), as_of=self.as_of)
            except Exception as exc:
                self.log.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                if attempt == LAMBDA_RETRIES:
                    raise
                self.log.retries += 1
                logger.warning("scheduler invocation failed; retrying", exc_info=True)
                self.sleep(RETRY_PAUSE_SECONDS)
                context = None  # a retry is a new invocation with its own time limit
                continue
            self.log.note(result)
            return result
        raise AssertionError("unreachable")


class SchedulerDriver:
    """Sends the jobs as described in the module docstring; ``run`` is a thread's target."""

    def __init__(self, config: SoswConfig, store: Store, invoker: Any, clock: Clock,
                 jobs: Sequence[dict[str, Any]], totals: dict[str, int], *, as_of: date,
                 timeout_seconds: float, page_size: int, kill_fraction: float, resend_seconds: float,
                 count_rows: Callable[[str], int], stop: threading.Event):
        self.jobs = list(jobs)
        self.page_size = page_size
        first = self.jobs[0]["sosw_core"]["job_id"]
        self.log = IngestLog(killed_job=first, killed_job_total=totals[first])
        self.log.kill_after = self.kill_point(totals[first], kill_fraction)
        self.switch = KillSwitch(first, self.log.kill_after)
        self.scheduler = SchedulerLambda(config, store, invoker, clock, self.log, self.switch,
                                         as_of=as_of, timeout_seconds=timeout_seconds, page_size=page_size)
        self.resend_seconds = resend_seconds
        self.kill_wait_seconds = max(60.0, timeout_seconds * 10)
        self.count_rows = count_rows
        self.stop = stop
        self.done = threading.Event()

    def kill_point(self, total: int, fraction: float) -> int:
        """Rows after which the Scheduler dies: mid-page, about ``fraction`` of the way in."""
        page = self.page_size
        return min(max(1, int(total * fraction) // page * page + page // 2), max(0, total - 1))

    def run(self) -> None:
        try:
            first, *others = self.jobs
            self._killed_ingestion(first)
            for job in others:
                self.scheduler(job)
            self._resend(first)
        except Exception as exc:  # noqa: BLE001 - recorded and reported; the audit shows what is missing
            logger.exception("scheduler driver failed")
            self.log.errors.append(f"driver: {type(exc).__name__}: {exc}"[:300])
        finally:
            self.done.set()

    def _killed_ingestion(self, job: dict[str, Any]) -> None:
        """Send the first job; it dies (in this invocation or a continuation of it)."""
        try:
            self.scheduler(job)
        except Killed:
            pass
        self.log.killed = self.switch.fired.wait(self.kill_wait_seconds)
        self.log.rows_sent_before_kill = self.switch.sent
        self.log.rows_in_table_after_kill = self.count_rows(job["sosw_core"]["job_id"])

    def _resend(self, job: dict[str, Any]) -> None:
        """Send the killed job again until an invocation takes it over (or the run stops)."""
        while not self.stop.is_set():
            self.log.resends += 1
            result = self.scheduler(job)
            if not result.get("duplicate"):
                self.log.taken_over = True
                return
            if result.get("state") != "ingesting":  # done or failed without us: nothing to resume
                self.log.errors.append(f"re-sent job is {result.get('state')}, not resumable")
                return
            self.log.resends_while_leased += 1
            self.stop.wait(self.resend_seconds)

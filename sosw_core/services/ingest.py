"""The Scheduler: turn a job into its tasks exactly once, within Lambda's time limit.

One :meth:`Ingestor.handle` call is one invocation; it reads the clock once (``now``)::

    job ──► plan, dry pass ──► start ──► page, advance ──► page, advance ──► … ──► finish (DONE)
            (invalid: nothing     (lease)                  └─ little time left: hand_over, then
             is written)                                      invoke {"continue_job": id} ──┐
    {"continue_job": id} ──► take_over ──► page (checked), advance ──► page, advance ──► … ◄┘

* **Plan**: envelope, labourer configured, its JSON Schema (every violation listed), chunking
  rules and every payload's size, in a dry pass that also counts ``total``.
* **Job id**: the job's ``sosw_core.job_id``, else its content hash and the plan's date. The same job
  sent twice on one UTC day is one job (its ``period`` gives the same dates too); a recurring
  job that must run more often than daily sends its own ``job_id``.
* **Existing record**: DONE/FAILED → a duplicate; INGESTING with a live lease → a duplicate
  delivery, no-op; no owner or an expired lease → ``take_over`` and resume at ``cursor``.
* **Pages** of ``page_size`` tasks: rows built by the store (``batch.row_factory``: plain
  DynamoDB items on DynamoDB), 25-item BatchWriteItems on ``writers`` threads with ``depth`` pages in flight (:mod:`.pages`), then ``advance`` per
  page in order (fenced by owner and old cursor: a zombie stops). Task n of job j is ``j_000000n``.
* **Hand-over**: an invocation stops starting pages when less than :func:`hand_over_margin` is
  left (it scales with the invocation's time, so 10 s timeouts ingest too) and continues in a
  new invocation.
* **Leases** last the invocation's remaining time plus 30 s, so one killed at its timeout is
  taken over by Lambda's retry of its event. After an error the lease is handed back at once
  (the error noted in the record) and the error re-raised; an error that a retry would meet
  again (invalid task, plan changed, a stored body that cannot be read) marks the job FAILED.

Why only the first ``depth`` pages after a take-over are checked for existing rows
(BatchGetItem): a fresh job's ids cannot exist (its record did not), and a previous owner only
ever wrote the ``depth`` pages right after the cursor it last saved. Re-writing those blindly
would reset tasks already claimed to QUEUED, so they are checked and only missing ids are
written; checking goes on while a checked page still finds rows (robust to a page size or
depth changed by a deploy).

Plans are stable across invocations: the record keeps the job in its own key order with its
resolved payload style (``sosw_core.payload_style`` in the stored body), the plan's date
(``as_of``) and chunkable levels, and every continuation plans from it. A body over 300 KB of JSON is kept gzip-compressed in part items written before the record
(:mod:`sosw_core.domain.job_document`); jobs are limited to 10 MiB of JSON (``MAX_JOB_BYTES``).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from sosw_core.clock import Clock
from sosw_core.config.model import SchedulerConfig, SoswConfig
from sosw_core.domain.chunking import iter_task_payloads
from sosw_core.domain.job import (
    Job,
    PayloadStyle,
    canonical_job_id,
    chunkable_attrs_for,
    job_from_stored,
    parse_job,
    stored_body,
)
from sosw_core.domain.job_document import MAX_JOB_BYTES, JobDocumentMissing, check_size, encode
from sosw_core.domain.job_record import IngestStatus, JobRecord, JobState
from sosw_core.domain.ports import Invoker, JobBodyStore, JobLedger, LambdaContext, TaskRowWriter
from sosw_core.domain.schemas import SchemaValidators, SchemaViolations, load_schemas
from sosw_core.domain.task import NewTask, encode_payload
from sosw_core.errors import InvalidEvent, InvalidJob, InvalidTask, SoswError, UnknownLabourer
from sosw_core.services.pages import DEPTH, PagePipeline

logger = logging.getLogger(__name__)

__all__ = ["MAX_JOB_BYTES", "IngestStatus", "Ingestor", "PageDone", "Plan", "SchemaValidators",
           "SchemaViolations", "count_checked", "load_schemas", "plan_job"]

CONTINUE_KEY = "continue_job"
PAGE_SIZE = 500
WRITERS = 4
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,180}$")  # + "_0000000" stays a valid task id
LEASE_SLACK_SECONDS = 30.0  # a lease outlives its invocation's hard deadline by this much
NO_CONTEXT_LEASE_SECONDS = 900.0 + LEASE_SLACK_SECONDS
# The hand-over margin scales with the invocation's time (a Scheduler timeout may be 10 s):
# see hand_over_margin.
# The floor covers draining the pages in flight (``depth`` pages of ``page_size`` rows on
# ``writers`` threads: well under a second unthrottled), ``advance``, ``hand_over`` and the
# continuation's invoke; botocore's retries under throttling can take longer, and then the
# invocation is killed and its lease (time left + LEASE_SLACK_SECONDS) lets Lambda's retry resume.
HAND_OVER_FLOOR_SECONDS = 5.0
HAND_OVER_FRACTION = 0.25


class PlanChanged(SoswError):
    """Re-planning a job from its record gave another number of tasks (the code changed)."""


@dataclass(frozen=True)
class Plan:
    """A validated job, ready to ingest: pure data, and its tasks as a lazy generator."""

    job_id: str
    job: Job  # in the job's key order (sosw 0.7's payloads follow it), its payload style resolved
    chunkable_attrs: tuple[str, ...]
    as_of: date

    @property
    def labourer_id(self) -> str:
        return self.job.labourer_id

    def payloads(self) -> Iterator[dict[str, Any]]:
        return iter_task_payloads(self.job, self.chunkable_attrs, self.as_of)

    def tasks(self, start: int = 0) -> Iterator[NewTask]:
        for position, payload in enumerate(islice(self.payloads(), start, None), start):
            yield NewTask(task_id(self.job_id, position), self.labourer_id, payload, job_id=self.job_id)


@dataclass(frozen=True)
class PageDone:
    """Progress after one page (what the ``on_page`` hook receives)."""

    job_id: str
    cursor: int
    total: int
    written: int  # by this invocation so far
    skipped: int  # found existing when checked


def task_id(job_id: str, position: int) -> str:
    return f"{job_id}_{position:07d}"


def canonical(job: Job) -> Job:
    """The job as plain JSON (what a record stores), in its own key order: the order of a dict
    of nulls is the order of its tasks, as in sosw 0.7."""
    try:
        body = json.loads(json.dumps(job.body, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidJob("job", f"must be plain JSON: {exc}") from exc
    return replace(job, body=body)


def plan_job(event: Any, scheduler: SchedulerConfig, as_of: date, *,
             schemas: SchemaValidators | None = None,
             payload_styles: Mapping[str, str] | None = None) -> Plan:
    """Parse a job and check its envelope (nothing is written); raises InvalidJob naming the path.

    The payload style is the job's ``sosw_core.payload_style``, else its labourer's in
    ``payload_styles``, else ``sosw07``. The chunking rules are checked by
    :meth:`Plan.payloads`, which walks the whole job before it yields the first payload (so
    :func:`count_checked` validates everything, once).
    """
    job = canonical(parse_job(event))
    if schemas is not None:
        schemas.check(job.labourer_id, {k: v for k, v in job.body.items() if k != "job_schema_name"})
    chunkable_attrs = chunkable_attrs_for(job, scheduler.job_schema_variants)
    check_size(json.dumps(job.body))
    if job.job_id is not None:
        if not JOB_ID_PATTERN.match(job.job_id):
            raise InvalidJob("sosw_core.job_id", f"must be 1-180 characters of A-Z a-z 0-9 _ . : - "
                                                 f"(got {job.job_id!r})")
        job_id = job.job_id
    else:
        job_id = f"{canonical_job_id(job)}-{as_of.isoformat()}"
    style = job.payload_style or PayloadStyle((payload_styles or {}).get(job.labourer_id, PayloadStyle.SOSW07))
    return Plan(job_id=job_id, job=replace(job, payload_style=style), chunkable_attrs=tuple(chunkable_attrs),
                as_of=as_of)


def count_checked(plan: Plan, max_payload_bytes: int) -> int:
    """The dry pass: every payload's size is checked, and the tasks are counted (streaming)."""
    total = 0
    for position, payload in enumerate(plan.payloads()):
        size = len(encode_payload(payload).encode())
        if size > max_payload_bytes:
            raise InvalidJob(f"task {position}", f"payload is {size} bytes; the limit is {max_payload_bytes}")
        total += 1
    return total


def plan_for(event: Any, config: SoswConfig, as_of: date, *,
             schemas: SchemaValidators | None = None) -> Plan:
    """:func:`plan_job` with ``config``'s scheduler settings; the job's labourer must be configured."""
    styles = {labourer.id: labourer.payload_style for labourer in config.labourers}
    plan = plan_job(event, config.scheduler, as_of, schemas=schemas, payload_styles=styles)
    try:
        config.labourer(plan.labourer_id)
    except UnknownLabourer as exc:
        # Tasks that no orchestrator dispatches would be stranded: refuse the job instead.
        raise InvalidJob("lambda_name", exc.rule) from exc
    return plan


def plan_from_record(record: JobRecord, body: dict[str, Any] | None = None) -> Plan:
    """The plan a record was started with; ``body`` when its job was stored in parts."""
    job = job_from_stored(record.labourer_id, record.job_id, (record.job or {}) if body is None else body)
    return Plan(job_id=record.job_id, job=job, chunkable_attrs=record.chunkable_attrs,
                as_of=date.fromisoformat(record.as_of or "1970-01-01"))


@dataclass
class _Run:
    """The mutable progress of one invocation on one job (read by the error boundary).

    ``source``: a fresh job's plan; or a resumed job's record, from which the plan is made inside
    the boundary (reading a body stored in parts can fail).
    """

    source: Plan | JobRecord
    owner: str
    cursor: int
    total: int
    now: float
    lease: float
    written: int = 0
    skipped: int = 0

    @property
    def job_id(self) -> str:
        return self.source.job_id

    def result(self, state: IngestStatus, **extra: Any) -> dict[str, Any]:
        return {"job_id": self.job_id, "labourer_id": self.source.labourer_id, "state": state,
                "cursor": self.cursor, "total": self.total, "written": self.written,
                "skipped": self.skipped, "duplicate": False, **extra}


class Ingestor:
    """Ingests Scheduler jobs; ``handle`` takes a job event or ``{"continue_job": job_id}``."""

    def __init__(self, config: SoswConfig, *, jobs: JobLedger, batch: TaskRowWriter,
                 documents: JobBodyStore, invoker: Invoker, clock: Clock,
                 schemas: Mapping[str, dict] | None = None, page_size: int = PAGE_SIZE,
                 writers: int = WRITERS, depth: int = DEPTH,
                 on_page: Callable[[PageDone], None] | None = None,
                 new_owner: Callable[[], str] = lambda: uuid.uuid4().hex):
        """Built by :func:`sosw_core.wiring.build_scheduler`."""
        self.config = config
        self.jobs = jobs
        self.batch = batch
        self.invoker = invoker
        self.clock = clock
        self.schemas = SchemaValidators(schemas or {})
        self.page_size = page_size
        self.writers = writers
        self.depth = depth
        self.on_page = on_page or (lambda progress: None)
        self.new_owner = new_owner
        self.documents = documents

    def plan(self, event: Any, as_of: date) -> Plan:
        return plan_for(event, self.config, as_of, schemas=self.schemas)

    def handle(self, event: Any, context: LambdaContext | None = None, *,
               as_of: date | None = None) -> dict[str, Any]:
        """One invocation on a job (or a continuation); the result's ``state`` is an
        :class:`IngestStatus` (``duplicate`` says whether the job was there already)."""
        now = self.clock.now()
        owner = self.new_owner()
        lease = (NO_CONTEXT_LEASE_SECONDS if context is None
                 else context.get_remaining_time_in_millis() / 1000 + LEASE_SLACK_SECONDS)
        if isinstance(event, dict) and CONTINUE_KEY in event:
            return self._resume(str(event[CONTINUE_KEY]), owner, now, lease, context)
        plan = self.plan(event, as_of or datetime.fromtimestamp(now, UTC).date())
        total = count_checked(plan, self.config.scheduler.max_payload_bytes)
        stored = encode(json.dumps(stored_body(plan.job)))
        self.documents.write_parts(plan.job_id, stored, now)  # before the record that points at them
        record = self.jobs.start(plan.job_id, plan.labourer_id, json.dumps(stored.record_value), owner, now,
                                 lease, total=total, as_of=plan.as_of.isoformat(),
                                 chunkable_attrs=plan.chunkable_attrs)
        if record is None:
            return self._resume(plan.job_id, owner, now, lease, context)
        logger.info("job started", extra={"job_id": plan.job_id, "labourer_id": plan.labourer_id,
                                          "total": total, "body_parts": len(stored.parts)})
        return self._run(_Run(plan, owner, 0, total, now, lease), context, checks=0)

    def _resume(self, job_id: str, owner: str, now: float, lease: float,
                context: LambdaContext | None) -> dict[str, Any]:
        """An existing job: a duplicate unless it is INGESTING and nobody holds a live lease."""
        record = self.jobs.get(job_id)
        if record is None:
            raise InvalidEvent(CONTINUE_KEY, f"no job with job_id {job_id!r}")
        if record.state is JobState.INGESTING:
            taken = self.jobs.take_over(job_id, owner, now, lease)
            if taken is not None:
                logger.info("job resumed", extra={"job_id": job_id, "cursor": taken.cursor})
                run = _Run(taken, owner, taken.cursor, taken.total or 0, now, lease)
                return self._run(run, context, checks=self.depth)
            record = self.jobs.get(job_id) or record
        return {**record.summary(), "state": IngestStatus.of(record.state), "duplicate": True}

    def _run(self, run: _Run, context: LambdaContext | None, *, checks: int) -> dict[str, Any]:
        """The per-job error boundary: record what happened to the job, then re-raise."""
        try:
            plan = run.source
            if isinstance(plan, JobRecord):  # a resumed run: plan from its record
                plan = run.source = plan_from_record(plan, self.documents.body(run.job_id, plan.job))
            return self._write(run, plan, context, checks)
        except (InvalidJob, InvalidTask, PlanChanged, JobDocumentMissing) as exc:
            self.jobs.fail(run.job_id, run.owner, f"{type(exc).__name__}: {exc}", run.now)
            raise
        except Exception as exc:
            # Transient (throttling, network): give the lease back so Lambda's retry resumes.
            self.jobs.hand_over(run.job_id, run.owner, run.cursor, run.now,
                                error=f"{type(exc).__name__}: {exc}")
            raise

    def _write(self, run: _Run, plan: Plan, context: LambdaContext | None, checks: int) -> dict[str, Any]:
        """Pages through the pipeline until done, out of time or fenced off.

        ``checks``: pages after the cursor to check for existing rows before writing (0 for a
        fresh job; ``depth`` after a take-over, then on while a checked page finds rows).
        """
        job_id, labourer_id = plan.job_id, plan.labourer_id
        payloads = enumerate(islice(plan.payloads(), run.cursor, None), run.cursor)
        item = self.batch.row_factory(run.now)
        max_bytes = self.config.scheduler.max_payload_bytes
        pipeline = PagePipeline(self.batch.write_rows, writers=self.writers, depth=self.depth)
        sent, found_last, out_of_time = run.cursor, False, False
        # the lease is the time left at the start plus the slack: the margin scales with that time
        margin_ms = hand_over_margin(self.config.scheduler.time_margin_seconds,
                                     run.lease - LEASE_SLACK_SECONDS) * 1000.0
        try:
            while True:
                while not (out_of_time or sent >= run.total or pipeline.full):
                    if self._out_of_time(context, margin_ms):
                        out_of_time = True
                        break
                    page = list(islice(payloads, self.page_size))
                    if not page:
                        raise PlanChanged(f"job {job_id!r} planned {sent} tasks, {run.total} expected")
                    ids = [task_id(job_id, position) for position, _ in page]
                    existing = self.batch.existing_ids(ids) if checks > 0 or found_last else set()
                    checks, found_last = checks - 1, bool(existing)
                    items = [item(tid, labourer_id, job_id, payload_json(position, payload, max_bytes))
                             for tid, (position, payload) in zip(ids, page, strict=True) if tid not in existing]
                    pipeline.send(sent, len(page), len(existing), items)
                    sent += len(page)
                if pipeline.empty:
                    break
                done = pipeline.oldest_done()
                if not self.jobs.advance(job_id, run.owner, run.cursor, run.cursor + done.size, run.now,
                                         run.lease):
                    logger.warning("job lease lost: stopping", extra={"job_id": job_id, "cursor": run.cursor})
                    return run.result(IngestStatus.LEASE_LOST)
                run.cursor += done.size
                run.written += done.size - done.found
                run.skipped += done.found
                self.on_page(PageDone(job_id, run.cursor, run.total, run.written, run.skipped))
        finally:
            # after an error, requests not yet started are dropped, those in flight are awaited
            pipeline.close()
        if run.cursor < run.total:
            return self._continue(run)
        if next(payloads, None) is not None:
            raise PlanChanged(f"job {job_id!r} planned more than the {run.total} tasks expected")
        if not self.jobs.finish(job_id, run.owner, run.total, run.now):
            return run.result(IngestStatus.LEASE_LOST)
        logger.info("job done", extra={"job_id": job_id, "total": run.total})
        return run.result(IngestStatus.DONE)

    def _out_of_time(self, context: LambdaContext | None, margin_ms: float) -> bool:
        if context is None:
            return False
        return context.get_remaining_time_in_millis() < margin_ms

    def _continue(self, run: _Run) -> dict[str, Any]:
        """Hand over first, then invoke: the continuation must find the job without an owner."""
        if not self.jobs.hand_over(run.job_id, run.owner, run.cursor, run.now):
            return run.result(IngestStatus.LEASE_LOST)
        self.invoker.invoke(self.config.scheduler_function, {CONTINUE_KEY: run.job_id})
        logger.info("job continued", extra={"job_id": run.job_id, "cursor": run.cursor})
        return run.result(IngestStatus.CONTINUED)


def hand_over_margin(configured: float, seconds_left: float) -> float:
    """Seconds before the deadline at which an invocation stops starting pages and hands over.

    ``seconds_left``: the invocation's time when it started. ``configured``
    (``scheduler.time_margin_seconds``) is the most; a short invocation keeps a quarter of its
    time, at least :data:`HAND_OVER_FLOOR_SECONDS`, and never more than half of it, so the check
    before the first page passes and every invocation of a continuation chain writes (the old
    fixed 30 s margin handed a 10-30 s invocation over before its first page, forever):
    900 s -> 30 s, 30 s -> 7.5 s, 10 s -> 5 s, 6 s -> 3 s.
    """
    return min(configured, max(HAND_OVER_FLOOR_SECONDS, HAND_OVER_FRACTION * seconds_left),
               seconds_left / 2)


def payload_json(position: int, payload: dict[str, Any], max_bytes: int) -> str:
    """A planned payload as stored, its size checked again (the plan is re-run per invocation)."""
    text = encode_payload(payload)
    size = len(text.encode())
    if size > max_bytes:
        raise InvalidJob(f"task {position}", f"payload is {size} bytes; the limit is {max_bytes}")
    return text

"""One chaos run from start to verdict (what ``python -m devtools.chaos`` runs).

1. DynamoDB Local is started (unless an endpoint is given) and fresh tables are created.
2. The deployment starts: 3 Orchestrators, 2 Scavengers, the WorkerAssistant, chaos workers.
3. The Scheduler thread sends one job per labourer; the first ingestion dies mid-page and the
   job is sent again until it is taken over.
4. The run waits until every planned task is COMPLETED or DEAD in the table (counted through
   the indexes each second; a progress line on stderr every few seconds) and every dead task's
   alert went out, or until the time-out.
5. Ticking stops, running workers drain, the tables are scanned and audited, then dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from devtools.chaos.audit import FAILURE_COUNTERS, Planned, Row, Verdict, audit
from devtools.chaos.behaviours import Mix
from devtools.chaos.deployment import Deployment, Shape, chaos_config, labourer_id
from devtools.chaos.figures import dispatch_lag, fault_figures
from devtools.chaos.ledger import Ledger
from devtools.chaos.scheduler import SchedulerDriver, job_event
from sosw_core.adapters.dynamodb import Store, create_tables, delete_tables, open_store
from sosw_core.clock import Clock, SystemClock
from sosw_core.config.model import SoswConfig
from sosw_core.domain.task import TaskState
from sosw_core.local.dynamodb_local import start as start_dynamodb_local
from sosw_core.services.ingest import plan_job

MAX_TASKS = 40_000  # one job per labourer, each a list of items: keep jobs of a sensible size
POLL_SECONDS = 2.0  # how often the table is counted to see whether the run is over


@dataclass(frozen=True)
class ChaosOptions:
    tasks: int = 10_000
    limits: tuple[int, ...] = (3, 5, 10, 20)  # max_simultaneous_invocations per labourer
    lease_seconds: float = 2.5  # max_duration_seconds: the lease and the workers' Lambda timeout
    max_attempts: int = 3
    tick_seconds: float = 0.3  # the shortened "minute"; also the backoff base
    orchestrators: int = 3
    scavengers: int = 2
    throttle_rate: float = 0.05
    mix: Mix = field(default_factory=Mix)
    seed: int = 1
    work_seconds: tuple[float, float] = (0.01, 0.15)
    kill_fraction: float = 0.4
    scheduler_timeout_seconds: float = 3.0  # the Scheduler Lambda's timeout: continuations happen
    page_size: int = 100
    resend_seconds: float = 1.0
    max_workers: int = 256
    timeout_from_invoke: bool = False  # workers' Lambda timeout from their start, not the lease end
    endpoint_url: str | None = None
    timeout_seconds: float = 1800.0
    progress_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not len(self.limits) <= self.tasks <= MAX_TASKS:
            raise ValueError(f"tasks must be between {len(self.limits)} and {MAX_TASKS} (got {self.tasks})")
        if not self.limits or min(self.limits) < 1 or len(set(self.limits)) != len(self.limits):
            raise ValueError(f"limits must be distinct positive integers (got {self.limits})")
        for name in ("lease_seconds", "tick_seconds", "timeout_seconds", "scheduler_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (got {getattr(self, name)})")
        if self.max_attempts < 1 or self.orchestrators < 1 or self.scavengers < 1:
            raise ValueError("max_attempts, orchestrators and scavengers must be >= 1")
        if not 0.0 <= self.throttle_rate < 0.5:
            raise ValueError(f"throttle_rate must be in [0, 0.5) (got {self.throttle_rate})")
        if not 0.0 < self.kill_fraction < 1.0:
            raise ValueError(f"kill_fraction must be between 0 and 1 (got {self.kill_fraction})")

    def shape(self) -> Shape:
        return Shape(limits=self.limits, lease_seconds=self.lease_seconds, max_attempts=self.max_attempts,
                     tick_seconds=self.tick_seconds, orchestrators=self.orchestrators,
                     scavengers=self.scavengers, throttle_rate=self.throttle_rate, mix=self.mix,
                     seed=self.seed, work_seconds=self.work_seconds,
                     scheduler_timeout_seconds=self.scheduler_timeout_seconds, max_workers=self.max_workers,
                     timeout_from_invoke=self.timeout_from_invoke)


def split(total: int, limits: tuple[int, ...]) -> dict[str, int]:
    """Tasks per labourer in proportion to its limit, largest first; every labourer gets one."""
    shares = {labourer_id(m): max(1, total * m // sum(limits)) for m in limits}
    biggest = labourer_id(max(limits))
    shares[biggest] += total - sum(shares.values())
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


Progress = Callable[[str], None]


class ChaosRun:
    def __init__(self, options: ChaosOptions, progress: Progress | None = None, clock: Clock | None = None):
        self.options = options
        self.progress = progress or (lambda line: None)
        self.clock = clock or SystemClock()

    def run(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (``ok``: every failure counter is 0)."""
        started = time.monotonic()
        local = None
        endpoint = self.options.endpoint_url
        if endpoint is None:
            local = start_dynamodb_local()
            endpoint = local.endpoint
        try:
            config = chaos_config(self.options.shape(), endpoint)
            observer = open_store(config)
            create_tables(observer.models)
            try:
                return self._run(config, observer, started)
            finally:
                delete_tables(observer.models)
        finally:
            if local is not None:
                local.stop()

    # -- the run ----------------------------------------------------------------------------
    def _run(self, config: SoswConfig, observer: Store, started: float) -> dict[str, Any]:
        options = self.options
        as_of = datetime.fromtimestamp(self.clock.now(), UTC).date()
        jobs, planned = self._plan(config, as_of)
        ledger = Ledger()
        deployment = Deployment(options.shape(), config, self.clock, ledger)
        job_ids = [job["sosw_core"]["job_id"] for job in jobs]
        totals = {job_id: sum(1 for p in planned.values() if p.job_id == job_id) for job_id in job_ids}
        driver = SchedulerDriver(config, deployment.scheduler_store, deployment.invoker, self.clock, jobs,
                                 totals, as_of=as_of, timeout_seconds=options.scheduler_timeout_seconds,
                                 page_size=options.page_size, kill_fraction=options.kill_fraction,
                                 resend_seconds=options.resend_seconds,
                                 count_rows=lambda job_id: _count_job_rows(observer, job_id),
                                 stop=deployment.stop)
        deployment.invoker.handlers[config.scheduler_function] = driver.scheduler
        deployment.start()
        began = time.monotonic()
        scheduler = threading.Thread(target=driver.run, name="scheduler", daemon=True)
        scheduler.start()
        finished = self._wait(config, observer, deployment, ledger, driver, len(planned), started)
        working_seconds = time.monotonic() - began
        drained = deployment.halt(drain_seconds=options.lease_seconds * 4 + 5)
        scheduler.join(timeout=options.scheduler_timeout_seconds * 2)
        rows = list(_scan(observer))
        verdict = audit(planned, rows, ledger.runs(), [a.task_id for a in deployment.notifier.alerts],
                        {lab.id: lab.max_simultaneous_invocations for lab in config.labourers})
        result = self._result(verdict, ledger, deployment, driver, finished, drained, time.monotonic() - started)
        result["seconds_first_job_sent_to_last_task_closed"] = round(working_seconds, 1)
        result["workers"]["lease_spent_before_invoke_by_claimer_s"] = dispatch_lag(rows, ledger.invoked_at())
        if verdict.evidence:
            result["evidence"] = {counter: [_evidence(observer, ledger, task_id) for task_id in ids]
                                  for counter, ids in verdict.evidence.items()}
        return result

    def _plan(self, config: SoswConfig, as_of) -> tuple[list[dict[str, Any]], dict[str, Planned]]:
        # the tables are fresh, so the ids need not differ between runs: the same seed gives the
        # same task ids, so the same behaviour for every attempt of every task
        run_id = f"chaos-s{self.options.seed}"
        jobs, planned = [], {}
        for lab, count in split(self.options.tasks, self.options.limits).items():
            job = job_event(f"{run_id}-{lab}", lab, [f"{lab}-item-{i:05d}" for i in range(count)])
            plan = plan_job(job, config.scheduler, as_of)
            tasks = list(plan.tasks())
            if len(tasks) != count:
                raise RuntimeError(f"job for {lab} plans {len(tasks)} tasks, {count} expected")
            planned.update({t.task_id: Planned(t.task_id, lab, plan.job_id, t.payload_json) for t in tasks})
            jobs.append(job)
        return jobs, planned

    def _wait(self, config, observer, deployment, ledger, driver, total, started) -> bool:
        """Poll until every task is closed and alerted, or the time-out; True if finished."""
        deadline = started + self.options.timeout_seconds
        last_line = float("-inf")
        while time.monotonic() < deadline:
            counts = {lab.id: state_counts(observer, lab.id) for lab in config.labourers}
            elapsed = time.monotonic() - started
            if elapsed - last_line >= self.options.progress_seconds:
                last_line = elapsed
                self.progress(_progress_line(elapsed, counts, ledger, deployment))
            closed = sum(c[TaskState.COMPLETED] + c[TaskState.DEAD] for c in counts.values())
            if closed >= total and driver.done.is_set() and not _alerts_pending(config, observer, self.clock):
                return True
            time.sleep(POLL_SECONDS)
        return False

    def _result(self, verdict: Verdict, ledger: Ledger, deployment: Deployment, driver: SchedulerDriver,
                finished: bool, drained: bool, seconds: float) -> dict[str, Any]:
        counters = verdict.counters
        throttles = deployment.throttles()
        result: dict[str, Any] = {
            "tasks": sum(v["tasks"] for v in verdict.per_labourer.values()),
            "completed": verdict.states.get("completed", 0),
            "dead": verdict.states.get("dead", 0),
            **{name: counters[name] for name in FAILURE_COUNTERS},
            "seconds": round(seconds, 1),
            "ok": verdict.ok and finished,
            "finished": finished,
            "runs_started_after_completion": verdict.started_after_completion,
            "dead_with_a_succeeding_attempt": verdict.dead_with_a_succeeding_attempt,
            "drained": drained,
            "labourers": verdict.per_labourer,
            "alerts": len(deployment.notifier.alerts),
            "throttles_injected": sum(throttles.values()),
            "throttles_by_component": throttles,
            "dynamodb_requests_seen": deployment.requests_seen(),
            "workers": fault_figures(ledger.runs(), self.options.lease_seconds, ledger.invoked_at()),
            "ingest": driver.log.as_json(),
            "component_errors": deployment.errors[:20],
            "invoker": {"invocations": deployment.invoker.invocations,
                        "handler_errors": deployment.invoker.errors},
            "unmatched_reports": deployment.reporter.unmatched,
            "options": _options_json(self.options),
        }
        return result


def _evidence(store: Store, ledger: Ledger, task_id: str) -> dict[str, Any]:
    """One task's row history and ledger runs, for a failure counter that is not 0."""
    task = store.tasks.find(task_id)
    invoked = ledger.invoked_at()
    runs = [{"attempt": r.attempt, "behaviour": r.behaviour,
             "invoked_at": round(invoked.get((task_id, r.attempt), 0.0), 3), "started_at": round(r.started_at, 3),
             "work_seconds": None if r.end is None else round(r.end - r.start, 3), "killed": r.killed,
             "lease_end": r.lease_end, "token_matches": task is not None and r.token == task.token,
             "answers": [[a.action, a.outcome, round(a.at, 3), a.delivery] for a in r.answers]}
            for r in ledger.runs() if r.task_id == task_id]
    if task is None:
        return {"task_id": task_id, "row": None, "runs": runs}
    return {"task_id": task_id, "state": task.state.value, "attempts": task.attempts,
            "closed_at": task.closed_at,
            "events": [[round(e.at, 3), e.kind.value, e.attempt, e.detail[:80]] for e in task.events],
            "runs": runs}


def _options_json(options: ChaosOptions) -> dict[str, Any]:
    data = asdict(options)
    data.pop("endpoint_url", None)
    data["limits"] = list(options.limits)
    data["work_seconds"] = list(options.work_seconds)
    return data


def _progress_line(elapsed: float, counts, ledger: Ledger, deployment: Deployment) -> str:
    running = ledger.running()
    parts = [f"{lab} q={c[TaskState.QUEUED]} inv={c[TaskState.INVOKED]}/{running.get(lab, 0)} "
             f"retry={c[TaskState.RETRYING]} "
             f"done={c[TaskState.COMPLETED]} dead={c[TaskState.DEAD]}" for lab, c in counts.items()]
    return f"[{elapsed:6.1f}s] " + " | ".join(parts) + f" | throttled={sum(deployment.throttles().values())}"


def state_counts(store: Store, labourer_id: str) -> dict[TaskState, int]:
    """Tasks per state of one labourer, by ``Select=COUNT`` queries of the indexes (no items
    travel, so polling stays cheap with 10,000 closed tasks)."""
    t = store.models.task
    counts = {TaskState.QUEUED: t.queue_index.count(labourer_id)}
    for state in (TaskState.INVOKED, TaskState.RETRYING):
        counts[state] = t.deadline_index.count(labourer_id, filter_condition=t.state == state.value)
    for state in (TaskState.COMPLETED, TaskState.DEAD):
        counts[state] = t.closed_index.count(labourer_id, filter_condition=t.state == state.value)
    return counts


def _alerts_pending(config: SoswConfig, observer: Store, clock) -> bool:
    """A dead task whose alert was not taken yet stays in the deadline index."""
    horizon = clock.now() + 10 ** 9
    return any(ref.state is TaskState.DEAD for lab in config.labourers
               for ref in observer.queries.due(lab.id, horizon, 1000))


def _count_job_rows(store: Store, job_id: str) -> int:
    model = store.models.task
    return sum(1 for _ in model.scan(model.job_id == job_id, attributes_to_get=["task_id"]))


def _scan(store: Store):
    model = store.models.task
    for item in model.scan(attributes_to_get=["task_id", "labourer_id", "job_id", "payload", "state",
                                              "token", "events", "closed_at"]):
        history = item.events or []
        events = tuple((str(e["event"]), int(e["attempt"])) for e in history)
        claims = tuple((int(e["attempt"]), float(e["at"])) for e in history if e["event"] == "claimed")
        yield Row(item.task_id, item.labourer_id, item.job_id, item.payload, item.state, item.token, events,
                  None if item.closed_at is None else float(item.closed_at), claims)

"""The main job on one machine: a local deployment working through example jobs.

Jobs in the sosw 0.7 format go through the Scheduler into DynamoDB Local; the Orchestrator and
Scavenger tick on a shortened "minute"; the example workers in ``sosw_core/examples/demo_workers.py`` run in the
local invoker. Progress is read from the table; the final figures come from a scan of the rows.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import create_tables
from sosw_core.adapters.invokers.local import LocalInvoker
from sosw_core.clock import SystemClock
from sosw_core.config.model import (
    Backoff,
    Comparison,
    DynamoDBConfig,
    HealthMetric,
    LabourerConfig,
    OrchestratorConfig,
    SchedulerConfig,
    SoswConfig,
    TablesConfig,
)
from sosw_core.domain.task import TaskState
from sosw_core.examples.demo_workers import Emails, Invoices, Thumbnails, email_outcome
from sosw_core.local.runtime import LocalRuntime
from sosw_core.wiring import build_scheduler, build_store

DOWNSTREAM = HealthMetric(name="downstream_latency_ms", namespace="Demo", metric_name="Latency",
                          comparison=Comparison.LE, feelings=((2, 900.0), (3, 500.0), (4, 250.0)))


@dataclass(frozen=True)
class DemoOptions:
    tasks: int = 3000
    tick_seconds: float = 1.0  # the shortened "minute"
    endpoint_url: str | None = None
    timeout_seconds: float = 600.0


@dataclass
class DemoResult:
    tasks: int
    completed: int
    dead: int
    lost: int
    seconds: float
    expected_dead: int
    max_running: dict[str, int]
    alerts: int
    per_labourer: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "completed": self.completed, "dead": self.dead, "lost": self.lost,
                "seconds": round(self.seconds, 1), "expected_dead": self.expected_dead,
                "max_running": self.max_running, "alerts": self.alerts, "labourers": self.per_labourer}


def demo_config(options: DemoOptions) -> SoswConfig:
    suffix = uuid.uuid4().hex[:8]
    lease = max(5, math.ceil(options.tick_seconds * 5))
    backoff = Backoff(base_seconds=options.tick_seconds, factor=2, cap_seconds=options.tick_seconds * 4,
                      jitter=0.5)
    return SoswConfig(
        labourers=(
            LabourerConfig(id="thumbnails", max_simultaneous_invocations=20, max_duration_seconds=lease,
                           backoff=backoff),
            LabourerConfig(id="invoices", max_simultaneous_invocations=16, max_duration_seconds=lease,
                           backoff=backoff, health_metrics=(DOWNSTREAM,)),
            LabourerConfig(id="emails", max_simultaneous_invocations=10, max_duration_seconds=lease,
                           max_attempts=3, backoff=backoff),
        ),
        tables=TablesConfig(tasks=f"demo_tasks_{suffix}", jobs=f"demo_jobs_{suffix}"),
        dynamodb=DynamoDBConfig(endpoint_url=options.endpoint_url),
        orchestrator=OrchestratorConfig(tick_seconds=options.tick_seconds),
        scheduler=SchedulerConfig(job_schema_variants=(
            ("default", ("section", "store", "product")),
            ("photos", ("album", "photo")),
            ("billing", ("customer",)),
            ("mailing", ("campaign", "recipient")),
        )),
    )


def demo_jobs(total: int) -> list[dict[str, Any]]:
    """Three jobs in the sosw 0.7 format whose tasks add up to about ``total``."""
    photos = max(1, total * 2 // 5)
    customers = max(1, round(math.sqrt(total * 3 / 10 / 3)))
    recipients = max(2, total - photos - customers * customers * 3)
    half = recipients // 2
    return [
        {"lambda_name": "thumbnails", "job_schema_name": "photos", "isolate_photos": True,
         "albums": {"summer": {"photos": [f"p{i:05d}" for i in range(photos // 2)]},
                    "winter": {"photos": [f"p{i:05d}" for i in range(photos // 2, photos)]}}},
        {"lambda_name": "invoices", "job_schema_name": "billing", "period": "last_3_days",
         "isolate_days": True, "isolate_customers": True, "currency": "EUR",
         "customers": [f"c{i:04d}" for i in range(customers * customers)]},
        {"lambda_name": "emails", "job_schema_name": "mailing", "isolate_recipients": True,
         "campaigns": {"spring": {"recipients": [f"r{i:05d}@example.com" for i in range(half)],
                                  "template": "spring-sale"},
                       "autumn": {"recipients": [f"r{i:05d}@example.com" for i in range(half, recipients)],
                                  "template": "autumn-news"}}},
    ]


def expected_dead(jobs: list[dict[str, Any]]) -> int:
    return sum(1 for job in jobs if job["lambda_name"] == "emails"
               for campaign in job["campaigns"].values() for r in campaign["recipients"]
               if email_outcome(r) == "bounce")


def downstream_latency(started: float, span: float):
    """Healthy, then degraded (half rate), then bad (paused), then healthy again."""
    def value(name: str, now: float) -> float:
        phase = (now - started) / span
        if 0.15 <= phase < 0.3:
            return 700.0  # status 2: half of max
        if 0.3 <= phase < 0.4:
            return 1500.0  # status 0: nothing dispatched
        return 120.0  # status 4
    return value


class Demo:
    def __init__(self, options: DemoOptions, progress=None):
        self.options = options
        self.progress = progress or (lambda rows, elapsed: None)

    def run(self) -> DemoResult:
        self.config = config = demo_config(self.options)
        store = build_store(config)
        create_tables(store.models)
        clock = SystemClock()
        started = clock.now()
        span = max(20.0, self.options.tasks / 60)
        jobs = demo_jobs(self.options.tasks)
        runtime = LocalRuntime(
            config, store, {"thumbnails": Thumbnails(), "invoices": Invoices(), "emails": Emails()},
            metrics=StaticMetrics(downstream_latency(started, span)),
            tick_seconds=self.options.tick_seconds, sweep_seconds=self.options.tick_seconds)
        ingestor = build_scheduler(config, store, invoker=LocalInvoker({}), clock=clock)
        runtime.start()
        try:
            total = 0
            for job in jobs:
                result = ingestor.handle(job, as_of=datetime.fromtimestamp(started, UTC).date())
                total += int(result.get("total", 0))
            self._wait(runtime, store, config, total, started)
        finally:
            runtime.stop()
        return self._result(runtime, store, config, total, expected_dead(jobs), clock.now() - started)

    def _wait(self, runtime, store, config, total, started) -> None:
        deadline = time.monotonic() + self.options.timeout_seconds
        while time.monotonic() < deadline:
            rows = {lab.id: store.queries.counts(lab.id) for lab in config.labourers}
            self.progress(rows, time.time() - started)
            closed = sum(c[TaskState.COMPLETED] + c[TaskState.DEAD] for c in rows.values())
            if closed >= total:
                return
            time.sleep(min(1.0, self.options.tick_seconds))

    def _result(self, runtime, store, config, total, dead_expected, seconds) -> DemoResult:
        states: Counter[str] = Counter()
        per_labourer: dict[str, Counter] = {lab.id: Counter() for lab in config.labourers}
        for row in store.models.task.scan(attributes_to_get=["task_id", "state", "labourer_id"]):
            states[row.state] += 1
            per_labourer[row.labourer_id][row.state] += 1
        completed, dead = states[TaskState.COMPLETED.value], states[TaskState.DEAD.value]
        return DemoResult(
            tasks=total, completed=completed, dead=dead, lost=total - completed - dead,
            seconds=seconds, expected_dead=dead_expected,
            max_running={lab.id: runtime.gauge.peak.get(lab.id, 0) for lab in config.labourers},
            alerts=len(runtime.notifier.alerts),
            per_labourer={lab: dict(c) for lab, c in per_labourer.items()})

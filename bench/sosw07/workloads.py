"""The benchmark workloads, driven through sosw 0.7.51's own classes.

Every workload gets fresh tables, builds the essentials it needs (their construction is reported
as ``setup_*``: it is a Lambda cold start, not part of a pass), then measures only the work.
Parameters match bench/ours/README.md so both sides run the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.fake_aws import FakeAws
from bench.meter import Meter, report
from bench.sosw07 import tables, world

T = TypeVar("T")

DISPATCH_LABOURERS = 10
DISPATCH_MAX = 50
LIFECYCLE_MAX = 100
SHORT_TASK_MAX = 10
SHORT_TASK_SECONDS = 1.0


@dataclass
class Env:
    client: Any  # a plain boto3 DynamoDB client for set-up and checks
    meter: Meter
    fakes: FakeAws
    minute_seconds: float = 2.0


class Setup:
    """Collects the requests and time spent constructing essentials (cold starts)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.requests = 0
        self.seconds = 0.0

    def __call__(self, factory: Callable[[], T]) -> T:
        self.meter.start()
        started = time.perf_counter()
        value = factory()
        self.seconds += time.perf_counter() - started
        self.requests += self.meter.total_requests
        self.meter.stop()
        return value

    def fields(self) -> dict[str, Any]:
        return {"setup_requests": self.requests, "setup_seconds": round(self.seconds, 3)}


def _ingest_job(size: int) -> dict[str, Any]:
    return {"job": {"lambda_name": world.labourer_id(0), "isolate_sections": True,
                    "sections": [f"section_{i:06d}" for i in range(size)]}}


def _seed(env: Env, labourers: int, per_labourer: int) -> None:
    for i in range(labourers):
        tables.batch_put(env.client, tables.TASKS, tables.queued_rows(world.labourer_id(i), per_labourer))


def ingest(env: Env, size: int) -> dict[str, Any]:
    """A job that the Scheduler chunks into ``size`` tasks, end to end into the tasks table."""
    setup = Setup(env.meter)
    scheduler = setup(lambda: world.make_scheduler(world.labourers_config(1, 10)))
    env.meter.start()
    started = time.perf_counter()
    world.lambda_call("sosw_scheduler", scheduler, _ingest_job(size))
    seconds = time.perf_counter() - started
    env.meter.stop()
    created = tables.count_rows(env.client, tables.TASKS)
    line = report("ingest", size, seconds, env.meter, created=created, **setup.fields())
    if created != size:
        line["error"] = f"Scheduler created {created} of {size} tasks"
    return line


def dispatch(env: Env, size: int) -> dict[str, Any]:
    """One Orchestrator pass over 10 labourers with ``size`` queued tasks in all, max 50 each."""
    per_labourer = size // DISPATCH_LABOURERS
    _seed(env, DISPATCH_LABOURERS, per_labourer)
    setup = Setup(env.meter)
    orchestrator = setup(lambda: world.make_orchestrator(
        world.labourers_config(DISPATCH_LABOURERS, DISPATCH_MAX)))
    env.meter.start()
    started = time.perf_counter()
    world.lambda_call("sosw_orchestrator", orchestrator, {})
    seconds = time.perf_counter() - started
    env.meter.stop()
    invoked = len(env.fakes.take_invokes())
    expected = DISPATCH_LABOURERS * min(DISPATCH_MAX, per_labourer)
    line = report("dispatch", invoked, seconds, env.meter, queued=per_labourer * DISPATCH_LABOURERS,
                  **setup.fields())
    if invoked != expected:
        line["error"] = f"Orchestrator invoked {invoked}, expected {expected}"
    return line


def lifecycle(env: Env, size: int) -> dict[str, Any]:
    """``size`` no-op tasks: created by the Scheduler, invoked by Orchestrator passes, completed
    through the WorkerAssistant, archived by Scavenger passes. Passes run back to back (a real
    deployment waits a minute between them)."""
    labourers = world.labourers_config(1, LIFECYCLE_MAX)
    setup = Setup(env.meter)
    scheduler = setup(lambda: world.make_scheduler(labourers))
    orchestrator = setup(lambda: world.make_orchestrator(labourers))
    scavenger = setup(lambda: world.make_scavenger(labourers))
    local = setup(lambda: world.LocalLambdas(env.fakes, world.make_worker_assistant()))
    setup(lambda: local.workers.setdefault(world.labourer_id(0), world.make_worker(world.labourer_id(0))))

    max_passes = 2 * (size // LIFECYCLE_MAX) + 10
    passes = 0
    env.meter.start()
    started = time.perf_counter()
    world.lambda_call("sosw_scheduler", scheduler, _ingest_job(size))
    while _archived(scavenger) < size and passes < max_passes:
        passes += 1
        world.lambda_call("sosw_orchestrator", orchestrator, {})
        local.run_workers(env.fakes.take_invokes())
        local.run_assistant()
        world.lambda_call("sosw_scavenger", scavenger, {})
    seconds = time.perf_counter() - started
    env.meter.stop()
    archived = _archived(scavenger)
    line = report("lifecycle", size, seconds, env.meter, passes=passes, completed=local.completions,
                  archived=archived, max_concurrent=LIFECYCLE_MAX, **setup.fields())
    if archived != size:
        line["error"] = f"archived {archived} of {size} tasks in {passes} passes"
    return line


def _archived(scavenger: Any) -> int:
    return int(scavenger.task_client.stats.get("archived_tasks", 0))


def idle(env: Env, size: int) -> dict[str, Any]:
    """One Orchestrator pass and one Scavenger pass over ``size`` labourers with empty queues."""
    labourers = world.labourers_config(size, 10)
    setup = Setup(env.meter)
    orchestrator = setup(lambda: world.make_orchestrator(labourers))
    scavenger = setup(lambda: world.make_scavenger(labourers))
    env.meter.start()
    started = time.perf_counter()
    world.lambda_call("sosw_orchestrator", orchestrator, {})
    world.lambda_call("sosw_scavenger", scavenger, {})
    seconds = time.perf_counter() - started
    env.meter.stop()
    return report("idle", 0, seconds, env.meter, labourers=size,
                  requests_per_labourer=round(env.meter.total_requests / max(size, 1), 3),
                  read_units_per_labourer=round(env.meter.read_units / max(size, 1), 3),
                  write_units_per_labourer=round(env.meter.write_units / max(size, 1), 3),
                  **setup.fields())


def short_tasks(env: Env, size: int) -> dict[str, Any]:
    """One labourer, max 10 concurrent, tasks of 1 s run locally. sosw dispatches once per
    Orchestrator invocation, i.e. once per scheduled minute; we compress the minute to
    ``env.minute_seconds`` and report both the measured rate and the rate per real minute."""
    labourers = world.labourers_config(1, SHORT_TASK_MAX)
    _seed(env, 1, size)
    setup = Setup(env.meter)
    orchestrator = setup(lambda: world.make_orchestrator(labourers))
    scavenger = setup(lambda: world.make_scavenger(labourers))
    local = setup(lambda: world.LocalLambdas(env.fakes, world.make_worker_assistant()))
    setup(lambda: local.workers.setdefault(world.labourer_id(0), world.make_worker(world.labourer_id(0))))

    max_passes = 2 * (size // SHORT_TASK_MAX) + 5
    passes = 0
    env.meter.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(SHORT_TASK_MAX) as pool:
        while local.completions < size and passes < max_passes:
            tick = started + passes * env.minute_seconds
            time.sleep(max(tick - time.perf_counter(), 0))
            passes += 1
            world.lambda_call("sosw_orchestrator", orchestrator, {})
            invocations = env.fakes.take_invokes()
            list(pool.map(lambda _: time.sleep(SHORT_TASK_SECONDS), invocations))  # the tasks' work
            local.run_workers(invocations)
            local.run_assistant()
            world.lambda_call("sosw_scavenger", scavenger, {})
    seconds = time.perf_counter() - started
    env.meter.stop()
    done = local.completions
    per_real_minute = done / passes if passes else 0.0
    line = report("short_tasks", done, seconds, env.meter, passes=passes,
                  minute_seconds=env.minute_seconds, measured_tasks_per_s=round(done / seconds, 3),
                  tasks_per_real_minute=round(per_real_minute, 2),
                  tasks_per_s=round(per_real_minute / 60, 3),
                  archived=_archived(scavenger), **setup.fields())
    if done != size:
        line["error"] = f"completed {done} of {size} tasks in {passes} passes"
    return line


WORKLOADS: dict[str, Callable[[Env, int], dict[str, Any]]] = {
    "ingest": ingest, "dispatch": dispatch, "lifecycle": lifecycle, "idle": idle,
    "short_tasks": short_tasks,
}

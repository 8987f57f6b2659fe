"""Tasks per second for 1-second tasks: one labourer, max 10 concurrent, run in the LocalInvoker.

Workers sleep 1 s, then report through ``DirectReporter`` to the WorkerAssistant; the
Orchestrator ticks every second (``orchestrator.tick_seconds = 1``: one Orchestrator Lambda loops
ticks until its time runs low, so this is the real schedule, not a compressed one). Run twice,
on fresh tables each: without completion chaining (``tasks_per_s_without_chaining``), then with
it (the WorkerAssistant's ``HandOff``: a completion and the claim of the next queued task in one
transaction, as the WorkerAssistant Lambda does), whose figures are the line's main ones. The
Orchestrator holds dispatch leases, as the Orchestrator Lambda does.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.meter import report
from bench.ours.common import HEALTHY, Bench, labourers, measured, run_workload, seed
from sosw_core.adapters.invokers.local import LocalInvoker
from sosw_core.clock import SystemClock
from sosw_core.services.worker import DirectReporter, Worker
from sosw_core.wiring import build_assistant, build_orchestrator

MAX_IN_FLIGHT = 10
TASK_SECONDS = 1.0
TICK_SECONDS = 1.0
POLL_SECONDS = 0.005
NOTE = ("real schedule: the Orchestrator ticks every 1 s inside its invocation (tick_seconds=1); "
        "with chaining, each completion hands its slot to the next queued task at once")


class SleepWorker(Worker):
    def process(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        time.sleep(TASK_SECONDS)
        return None


@dataclass(frozen=True)
class Run:
    completed: int
    seconds: float
    ticks: int
    requests: int
    errors: int


def run_once(bench: Bench, size: int, *, chaining: bool) -> Run:
    config, store = bench.open(labourers(1, MAX_IN_FLIGHT), tick_seconds=TICK_SECONDS)
    labourer = config.labourers[0]
    clock = SystemClock()
    seed(store, labourer.id, size, clock.now())
    # Each function's timeout is its labourer's lease, as a deployment should set it (see
    # docs/writing-a-worker.md); a longer one would make every run extend its lease first.
    invoker = LocalInvoker({}, max_workers=2 * MAX_IN_FLIGHT,
                           timeouts={labourer.function_name: float(labourer.max_duration_seconds)})
    orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=HEALTHY.for_tick, clock=clock)
    lock = threading.Lock()  # one dispatcher at a time, as in sosw_core.local.runtime
    assistant = build_assistant(config, store, clock=clock, invoker=invoker, metrics=HEALTHY.for_tick,
                                handoff=None if chaining else False)
    invoker.handlers[labourer.function_name] = SleepWorker(DirectReporter(assistant))
    bench.cold_start(store)
    deadline = 10 * size * TASK_SECONDS + 30
    ticks = 0
    try:
        with measured(bench.meter) as watch:
            next_tick = watch.started
            while invoker.completed + invoker.errors < size:
                now = time.perf_counter()
                if now - watch.started > deadline:
                    break
                if now >= next_tick:
                    with lock:
                        orchestrator.tick(clock.now())
                    ticks += 1
                    next_tick += TICK_SECONDS
                time.sleep(min(POLL_SECONDS, max(0.0, next_tick - time.perf_counter())))
    finally:
        invoker.wait_idle(30)
        invoker.shutdown()
    return Run(invoker.completed, watch.seconds, ticks, bench.meter.total_requests, invoker.errors)


def short_tasks(bench: Bench, size: int) -> dict[str, Any]:
    plain = run_once(bench, size, chaining=False)
    chained = run_once(bench, size, chaining=True)  # last: the meter holds its counts
    line = report("short_tasks", chained.completed, chained.seconds, bench.meter, ticks=chained.ticks,
                  max_concurrent=MAX_IN_FLIGHT,
                  tasks_per_s_without_chaining=round(plain.completed / plain.seconds, 3),
                  seconds_without_chaining=round(plain.seconds, 3), ticks_without_chaining=plain.ticks,
                  requests_per_task_without_chaining=round(plain.requests / max(plain.completed, 1), 3),
                  note=NOTE, **bench.setup_fields())
    if chained.completed != size or plain.completed != size or chained.errors or plain.errors:
        line["error"] = (f"completed {chained.completed} (chained) and {plain.completed} (not) of {size}; "
                         f"handler errors {chained.errors} and {plain.errors}")
    return line


if __name__ == "__main__":
    sys.exit(run_workload("short_tasks", short_tasks, description=__doc__.splitlines()[0]))

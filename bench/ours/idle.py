"""One Orchestrator tick and one Scavenger sweep over N labourers with empty queues.

The figure compared is ``requests_per_labourer`` (goal: at most 3). Each labourer has one health
metric, answered healthy, so the Orchestrator does read its queue.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench.meter import report
from bench.ours.common import HEALTHY, Bench, RecordingInvoker, labourers, measured, run_workload
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.wiring import build_orchestrator, build_scavenger

MAX_IN_FLIGHT = 10  # as bench/sosw07/workloads.py idle


def idle(bench: Bench, size: int) -> dict[str, Any]:
    config, store = bench.open(labourers(size, MAX_IN_FLIGHT))
    invoker = RecordingInvoker()
    orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=HEALTHY.for_tick)
    scavenger = build_scavenger(config, store, notifier=MemoryNotifier())
    bench.cold_start(store)
    with measured(bench.meter) as watch:
        records = orchestrator.tick(time.time())
        sweep = scavenger.sweep(time.time())
    per = max(size, 1)
    meter = bench.meter
    line = report("idle", 0, watch.seconds, meter, labourers=size,
                  requests_per_labourer=round(meter.total_requests / per, 3),
                  read_units_per_labourer=round(meter.read_units / per, 3),
                  write_units_per_labourer=round(meter.write_units / per, 3), **bench.setup_fields())
    errors = [r.error for r in records if r.error] + [error for _, error in sweep.errors]
    if errors or invoker.events:
        line["error"] = f"{len(invoker.events)} invokes on empty queues; errors: {errors[:3]}"
    return line


if __name__ == "__main__":
    sys.exit(run_workload("idle", idle, description=__doc__.splitlines()[0]))

"""One Orchestrator tick over 10 labourers with N queued tasks in all, max 50 in flight each.

Healthy ecology (one health metric per labourer, answered healthy); invokes recorded, not run.
Like bench/sosw07/workloads.py ``dispatch``: the queue is seeded before the measurement.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench.meter import report
from bench.ours.common import HEALTHY, Bench, RecordingInvoker, labourers, measured, run_workload, seed
from sosw_core.wiring import build_orchestrator

LABOURERS = 10
MAX_IN_FLIGHT = 50


def dispatch(bench: Bench, size: int) -> dict[str, Any]:
    per_labourer = size // LABOURERS
    config, store = bench.open(labourers(LABOURERS, MAX_IN_FLIGHT))
    now = time.time()
    for labourer in config.labourers:
        seed(store, labourer.id, per_labourer, now)
    invoker = RecordingInvoker()
    orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=HEALTHY.for_tick)
    bench.cold_start(store)
    with measured(bench.meter) as watch:
        records = orchestrator.tick(time.time())
    invoked = len(invoker.take())
    expected = LABOURERS * min(MAX_IN_FLIGHT, per_labourer)
    line = report("dispatch", invoked, watch.seconds, bench.meter, queued=per_labourer * LABOURERS,
                  **bench.setup_fields())
    errors = [record.error for record in records if record.error]
    if errors or invoked != expected:
        line["error"] = f"invoked {invoked}, expected {expected}; errors: {errors[:3]}"
    return line


if __name__ == "__main__":
    sys.exit(run_workload("dispatch", dispatch, description=__doc__.splitlines()[0]))

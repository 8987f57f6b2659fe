"""N no-op tasks through their whole life: ingested from a job, claimed and invoked, completed, closed.

One labourer, max 100 in flight, passes back to back as on sosw 0.7.51's side: each pass is one
Orchestrator tick (invokes recorded), then every recorded worker event run through a no-op
``Worker`` whose completion report goes to the WorkerAssistant (``DirectReporter``), then one
Scavenger sweep. Nothing archives: a completed row leaves the queue and deadline indexes in the
completing write and gets its TTL there (``expires_at``), which is what sosw's archive step does.
Completion chaining is off so that dispatch happens per pass, as in sosw's run.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.meter import report
from bench.ours.common import (
    HEALTHY,
    Bench,
    NoopWorker,
    RecordingInvoker,
    ingest_job,
    labourers,
    measured,
    run_workload,
    write_requests,
)
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import SystemClock
from sosw_core.domain.task import TaskState
from sosw_core.services.worker import DirectReporter
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger, build_scheduler

MAX_IN_FLIGHT = 100
NOTE = ("closing = the completing UpdateItem: the row leaves the queue/deadline indexes, enters the "
        "closed index and gets its TTL; no archive step. Chaining off; a scavenger sweep per pass.")


def lifecycle(bench: Bench, size: int) -> dict[str, Any]:
    config, store = bench.open(labourers(1, MAX_IN_FLIGHT))
    labourer = config.labourers[0]
    clock = SystemClock()
    invoker = RecordingInvoker()
    ingestor = build_scheduler(config, store, invoker=invoker, clock=clock)
    orchestrator = build_orchestrator(config, store, invoker=invoker, metrics=HEALTHY.for_tick, clock=clock)
    scavenger = build_scavenger(config, store, notifier=MemoryNotifier(), clock=clock)
    worker = NoopWorker(DirectReporter(build_assistant(config, store, clock=clock, handoff=False)))
    job, shape = ingest_job(labourer.id, size)
    bench.cold_start(store)

    max_passes = 2 * (size // MAX_IN_FLIGHT) + 10
    passes = completed = 0
    with measured(bench.meter) as watch:
        ingested = ingestor.handle(job)
        while completed < size and passes < max_passes:
            passes += 1
            orchestrator.tick(clock.now())
            for _, event in invoker.take():
                response = worker(event, None)
                completed += response.get("outcome") == "applied"
            scavenger.sweep(clock.now())
    writes = write_requests(bench.meter)
    closed = store.queries.counts(labourer.id)[TaskState.COMPLETED]
    line = report("lifecycle", size, watch.seconds, bench.meter, passes=passes, completed=completed,
                  closed=closed, write_requests_per_task=round(writes / max(size, 1), 3),
                  max_concurrent=MAX_IN_FLIGHT, job_shape=shape, note=NOTE, **bench.setup_fields())
    if ingested.get("state") != "done" or completed != size or closed != size:
        line["error"] = (f"job {ingested.get('state')}; completed {completed}, closed {closed} of {size} "
                         f"in {passes} passes")
    return line


if __name__ == "__main__":
    sys.exit(run_workload("lifecycle", lifecycle, description=__doc__.splitlines()[0]))

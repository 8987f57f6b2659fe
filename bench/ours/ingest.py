"""One Scheduler job that chunks into N tasks, end to end through the Ingestor into the tasks table.

The job is sosw 0.7.51's side's (``isolate_sections`` over ``section_NNNNNN``) at every size (see
``bench.ours.common.ingest_job``). Also reports the process's peak memory (``peak_mb``, VmHWM:
interpreter, boto3 and pynamodb included) and the same before the job (``baseline_mb``).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.meter import report
from bench.ours.common import (
    Bench,
    RecordingInvoker,
    ingest_job,
    labourers,
    measured,
    rss_mb,
    run_workload,
    write_requests,
)
from sosw_core.clock import SystemClock
from sosw_core.services.ingest import PAGE_SIZE, WRITERS
from sosw_core.services.pages import DEPTH
from sosw_core.wiring import build_scheduler

MAX_IN_FLIGHT = 10  # as bench/sosw07/workloads.py ingest (unused while ingesting)


def ingest(bench: Bench, size: int) -> dict[str, Any]:
    config, store = bench.open(labourers(1, MAX_IN_FLIGHT))
    labourer = config.labourers[0]
    invoker = RecordingInvoker()  # continuations only; none without a Lambda context
    ingestor = build_scheduler(config, store, invoker=invoker, clock=SystemClock())
    job, shape = ingest_job(labourer.id, size)
    bench.cold_start(store)
    baseline = rss_mb()
    with measured(bench.meter) as watch:
        result = ingestor.handle(job)
    peak = rss_mb()
    # DescribeTable's ItemCount: exact on DynamoDB Local, and O(1) where a COUNT Query or Scan
    # over 100,000 rows takes DynamoDB Local minutes (its pagination is quadratic)
    created = store.models.task.count()
    line = report("ingest", size, watch.seconds, bench.meter, created=created, peak_mb=peak,
                  baseline_mb=baseline, write_requests_per_task=round(write_requests(bench.meter) / max(size, 1), 4),
                  page_size=PAGE_SIZE, writers=WRITERS, pages_in_flight=DEPTH, job_shape=shape, **bench.setup_fields())
    if result.get("state") != "done" or created != size:
        line["error"] = f"job {result.get('state')}: {created} of {size} tasks created"
    return line


if __name__ == "__main__":
    sys.exit(run_workload("ingest", ingest, description=__doc__.splitlines()[0]))

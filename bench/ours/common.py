"""What every sosw-core workload script shares: arguments, config, tables, the recording invoker.

A script calls :func:`run_workload` with its workload function. That installs the meter before
any client exists, gives the workload a :class:`Bench` (which creates uniquely named tables on
the endpoint and drops them at the end), and prints the one JSON line of bench/ours/README.md.
A failure of the code under test becomes ``"error"`` in the line, with the traceback on stderr.

Parameters mirror bench/sosw07/workloads.py and world.py: labourers ``bench_worker_<i>``, one
CloudWatch health metric each (answered healthy here by ``StaticMetrics``), no-op payloads.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PynamoDBException

from bench.meter import WRITE_OPERATIONS, Meter
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store, create_tables, delete_tables, open_store
from sosw_core.config.model import (
    Comparison,
    DynamoDBConfig,
    HealthMetric,
    LabourerConfig,
    OrchestratorConfig,
    SchedulerConfig,
    SoswConfig,
    TablesConfig,
)
from sosw_core.domain.task import NewTask
from sosw_core.services.ingest import MAX_JOB_BYTES
from sosw_core.services.worker import Worker

REGION = "us-east-1"
NOOP_PAYLOAD: dict[str, Any] = {"noop": True}
HEALTH_METRIC = HealthMetric(name="DbCpu", namespace="AWS/RDS", metric_name="CPUUtilization",
                             comparison=Comparison.LE, feelings=((3, 50.0), (4, 25.0)),
                             dimensions=(("DBInstanceIdentifier", "bench"),))
HEALTHY = StaticMetrics({HEALTH_METRIC.name: 10.0})  # status 4, as bench.fake_aws answers sosw
SECTION_VARIANTS = (("default", ("section",)),)  # sosw side: chunkable_attrs [("section", {})]


def labourer_id(i: int) -> str:
    return f"bench_worker_{i}"


def labourers(count: int, max_simultaneous: int) -> tuple[LabourerConfig, ...]:
    return tuple(LabourerConfig(id=labourer_id(i), max_simultaneous_invocations=max_simultaneous,
                                health_metrics=(HEALTH_METRIC,))
                 for i in range(count))


def write_requests(meter: Meter) -> int:
    return sum(count for op, count in meter.requests.items() if op in WRITE_OPERATIONS)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB: ``VmHWM`` (Linux), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return round(int(line.split()[1]) / 1024, 1)
    except (OSError, StopIteration):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- the job sosw's Scheduler gets in bench/sosw07/workloads.py, for ours ----------------------
def ingest_job(labourer: str, size: int) -> tuple[dict[str, Any], str]:
    """sosw's job for ``size`` tasks (``isolate_sections`` over a flat list of ``section_NNNNNN``),
    and a description of its shape. 100,000 names are ~1.9 MB of JSON: the Ingestor keeps a body
    over 300 KB gzip-compressed in part items (limit 10 MiB, ``MAX_JOB_BYTES``)."""
    sections = [f"section_{i:06d}" for i in range(size)]
    job: dict[str, Any] = {"lambda_name": labourer, "isolate_sections": True, "sections": sections}
    body_bytes = len(json.dumps(job).encode())
    if body_bytes > MAX_JOB_BYTES:
        raise ValueError(f"the job for {size} tasks is {body_bytes} bytes, over MAX_JOB_BYTES ({MAX_JOB_BYTES})")
    return {"job": job}, f"flat: {size} sections, {body_bytes:,} bytes of JSON"


def seed(store: Store, labourer: str, count: int, now: float) -> None:
    """Queue ``count`` no-op tasks directly (sosw's side seeds its table with BatchWriteItem too)."""
    tasks = (NewTask(f"{labourer}-{i:07d}", labourer, NOOP_PAYLOAD) for i in range(count))
    store.batch.create_many(tasks, now, check_existing=False)


# -- invokers and workers ----------------------------------------------------------------------
@dataclass
class RecordingInvoker:
    """An Invoker that keeps each event as Lambda would deliver it (a JSON copy); runs nothing."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        copy = json.loads(json.dumps(event))
        with self._lock:
            self.events.append((function_name, copy))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            taken, self.events = self.events, []
        return taken


class NoopWorker(Worker):
    """A labourer that does nothing; the base class reports the completion."""

    def process(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        return None


# -- set-up and measurement --------------------------------------------------------------------
class Bench:
    """One script's access to DynamoDB Local: tables with a unique prefix, dropped at the end."""

    def __init__(self, endpoint: str, meter: Meter):
        self.endpoint = endpoint
        self.meter = meter
        self._stores: list[Store] = []
        self.setup_requests = 0
        self.setup_seconds = 0.0

    def open(self, labourer_configs: tuple[LabourerConfig, ...], *,
             tick_seconds: float = 10.0) -> tuple[SoswConfig, Store]:
        """A config for these labourers on fresh tables, and its store (tables created)."""
        prefix = f"bench_{uuid.uuid4().hex[:10]}"
        config = SoswConfig(labourers=labourer_configs,
                            tables=TablesConfig(tasks=f"{prefix}_tasks", jobs=f"{prefix}_jobs"),
                            dynamodb=DynamoDBConfig(endpoint_url=self.endpoint, region=REGION),
                            orchestrator=OrchestratorConfig(tick_seconds=tick_seconds),
                            scheduler=SchedulerConfig(job_schema_variants=SECTION_VARIANTS))
        store = open_store(config)
        self._stores.append(store)
        create_tables(store.models)
        return config, store

    def cold_start(self, store: Store) -> None:
        """What a Lambda's first call pays before its work (metered apart as ``setup_*``):
        here one point read per table, so that clients and connections exist."""
        self.meter.start()
        started = time.perf_counter()
        store.tasks.find("bench-cold-start")
        store.jobs.get("bench-cold-start")
        self.setup_seconds += time.perf_counter() - started
        self.setup_requests += self.meter.total_requests
        self.meter.stop()

    def setup_fields(self) -> dict[str, Any]:
        return {"setup_requests": self.setup_requests, "setup_seconds": round(self.setup_seconds, 3)}

    def drop_tables(self) -> None:
        for store in self._stores:
            try:
                delete_tables(store.models)
            except PynamoDBException:  # leave the line intact; the in-memory DB dies with the run
                traceback.print_exc()
        self._stores.clear()


@dataclass
class Stopwatch:
    started: float = 0.0
    seconds: float = 0.0


@contextmanager
def measured(meter: Meter) -> Iterator[Stopwatch]:
    """Meter and time the block: requests and units counted only inside it."""
    watch = Stopwatch()
    meter.start()
    watch.started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - watch.started
        meter.stop()


Workload = Callable[[Bench, int], dict[str, Any]]


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--endpoint", required=True, help="DynamoDB Local URL")
    parser.add_argument("--size", type=int, required=True, help="tasks (labourers for idle)")
    return parser.parse_args(argv)


def run_workload(name: str, workload: Workload, argv: list[str] | None = None,
                 description: str = "") -> int:
    """Parse the arguments, run ``workload`` metered, print its JSON line last; exit code 0."""
    args = parse_args(argv, description or f"sosw-core benchmark workload {name}")
    meter = Meter(args.endpoint)
    meter.install()  # before any botocore client is created
    bench = Bench(args.endpoint, meter)
    line: dict[str, Any]
    try:
        line = workload(bench, args.size)
    except Exception as exc:  # noqa: BLE001 - the README's interface: a failure is a result
        traceback.print_exc()
        line = {"workload": name, "tasks": args.size, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        meter.stop()
        bench.drop_tables()
    line.update(side="ours", size=args.size)
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit("run one of the workload scripts next to this file")

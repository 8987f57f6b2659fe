"""The Scheduler's ingestion on DynamoDB Local: 100,000 tasks through continuations, crash
recovery, request figures and throughput."""

from __future__ import annotations

import dataclasses
import json
import resource
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import boto3
import pytest

from devtools.metering import RequestMeter
from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.cli.main import main
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.job_record import JobState
from sosw_core.domain.task import TaskState
from sosw_core.services.ingest import Ingestor
from sosw_core.wiring import build_scheduler
from tests.fakes import RecordingInvoker, RunsOut

pytestmark = pytest.mark.integration
START = 1_699_920_000.0 + 3_600  # 2023-11-14T01:00Z: tests that wait for a lease stay on one day

SCHEDULER = SchedulerConfig(job_schema_variants=(("default", ("section", "store", "product")),),
                            time_margin_seconds=30)


class Crash(BaseException):
    """The process dies: no error boundary sees it."""


def big_job(days: int, sections: int, stores: int) -> dict:
    """days x sections x stores tasks from a small job (the period makes the days)."""
    return {"lambda_name": "w", "period": f"last_{days}_days", "isolate_days": True,
            "isolate_sections": True, "isolate_stores": True,
            "sections": {f"sec{i:03d}": {"stores": [f"st{j:03d}" for j in range(stores)], "region": i % 7}
                         for i in range(sections)}}


def scan_count(store, segments: int = 4) -> int:
    """Rows in the tasks table by a parallel Scan with Select=COUNT (distinct by key)."""
    meta = store.models.task.Meta
    client = boto3.client("dynamodb", endpoint_url=meta.host, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")

    def count(segment: int) -> int:
        return sum(page["Count"] for page in client.get_paginator("scan").paginate(
            TableName=meta.table_name, Select="COUNT", Segment=segment, TotalSegments=segments))

    with ThreadPoolExecutor(segments) as pool:
        return sum(pool.map(count, range(segments)))


@pytest.fixture
def env(local_config, local_store):
    return dataclasses.replace(local_config, scheduler=SCHEDULER), local_store


def make(env, clock, invoker, *, batch: BatchCreator | None = None, **kwargs) -> Ingestor:
    config, store = env
    return build_scheduler(config, replace(store, batch=batch or store.batch), invoker=invoker,
                           clock=clock, **kwargs)


def test_100k_tasks_through_continuations_with_duplicate_deliveries(env):
    config, store = env
    clock = FixedClock(START)
    invoker = RecordingInvoker()
    job = big_job(days=10, sections=100, stores=100)
    duplicates: list[dict] = []

    def on_page(page):  # a duplicate delivery arrives while a page is being ingested
        if page.cursor in (3_000, 51_000):
            duplicates.append(make(env, clock, RecordingInvoker()).handle(job, RunsOut(15)))

    queue: deque = deque([job])
    results = []
    started = time.perf_counter()
    while queue:
        event = queue.popleft()
        result = make(env, clock, invoker, on_page=on_page).handle(event, RunsOut(15))  # lease read + 14 pages: 7,000 tasks
        results.append(result)
        queue.extend(event for _, event in invoker.take())
        if len(results) == 3:
            queue.append(job)  # the job re-sent mid-way, between two invocations
        clock.advance(1)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n100,000 tasks: {len(results)} invocations, {seconds:.1f}s ({100_000 / seconds:.0f} tasks/s), "
          f"process max RSS {rss_mb:.0f} MB")
    assert [d["duplicate"] and d["state"] == "ingesting" for d in duplicates] == [True, True]
    assert sum(r.get("written", 0) for r in results) == 100_000
    assert [r["state"] for r in results if not r["duplicate"]].count("done") == 1
    assert any(r["duplicate"] for r in results)  # the re-sent job or the continuation it raced
    record, = store.jobs.list_jobs()
    assert (record.state, record.cursor, record.total) == (JobState.DONE, 100_000, 100_000)
    again = make(env, clock, invoker).handle(job, RunsOut(15))  # sent again once done
    assert again["duplicate"] and again["state"] == "done"
    counting = time.perf_counter()
    assert scan_count(store) == 100_000  # every task once: ids are keys, so rows are distinct
    print(f"counted in {time.perf_counter() - counting:.1f}s")


def test_50000_id_flat_job_through_continuations(env):
    """sosw's own shape, one task per id: ~0.9 MB of JSON, kept in a compressed part item."""
    config, store = env
    clock = FixedClock(START)
    invoker = RecordingInvoker()
    job = {"lambda_name": "w", "isolate_sections": True, "sections": [f"section_{i:06d}" for i in range(50_000)]}
    assert len(json.dumps(job)) > 300 * 1024
    results = [make(env, clock, invoker).handle(job, RunsOut(15))]  # 14 pages of 500 per invocation
    while results[-1]["state"] == "continued":
        (_, event), = invoker.take()
        clock.advance(1)
        results.append(make(env, clock, invoker).handle(event, RunsOut(15)))
    assert [r["state"] for r in results] == ["continued"] * 7 + ["done"] and not invoker.calls
    assert sum(r["written"] for r in results) == 50_000 and sum(r["skipped"] for r in results) == 0
    job_id = results[0]["job_id"]
    record = store.jobs.get(job_id)
    assert (record.state, record.cursor, record.total) == (JobState.DONE, 50_000, 50_000)
    assert make(env, clock, invoker).handle(job)["duplicate"]
    assert scan_count(store) == 50_000
    assert store.tasks.get(f"{job_id}_0049999").payload["sections"] == ["section_049999"]


def test_crash_mid_page_then_redelivery_after_lease_expiry(env):
    config, store = env
    clock = FixedClock(START)
    job = big_job(days=1, sections=12, stores=100)  # 1,200 tasks

    class CrashingBatch(BatchCreator):
        calls, lock = 0, threading.Lock()

        def write_rows(self, rows):
            with self.lock:  # the writer threads count under a lock, or two could skip call 27
                self.calls += 1
                due = self.calls == 27
            if due:  # inside page 1 (batches 21-40), after some of its writes
                raise Crash()
            super().write_rows(rows)

    with pytest.raises(Crash):
        make(env, clock, RecordingInvoker(), batch=CrashingBatch(store.tasks)).handle(job)
    partial = scan_count(store)
    record, = store.jobs.list_jobs()
    assert record.cursor == 500 and 500 < partial < 1_000
    claimed = store.tasks.claim(f"{record.job_id}_0000501", 0, config.labourer("w"), clock.now())
    assert claimed is not None
    assert make(env, clock, RecordingInvoker()).handle(job)["duplicate"]  # lease still live
    clock.advance(3_600)
    result = make(env, clock, RecordingInvoker()).handle(job)
    assert result["state"] == "done" and result["skipped"] == partial - 500
    assert scan_count(store) == 1_200
    assert store.tasks.get(f"{record.job_id}_0000501").state is TaskState.INVOKED


def test_request_figures_and_throughput_of_a_fresh_ingest(env):
    config, store = env
    job = big_job(days=1, sections=200, stores=100)  # 20,000 tasks
    with RequestMeter(store.models) as meter:
        started = time.perf_counter()
        result = make(env, FixedClock(START), RecordingInvoker()).handle(job)
        seconds = time.perf_counter() - started
    assert result["state"] == "done" and result["written"] == 20_000
    per_1000 = {op: round(n * 1000 / 20_000, 2) for op, n in sorted(meter.requests.items())}
    print(f"\n20,000 tasks fresh: {seconds:.1f}s ({20_000 / seconds:.0f} tasks/s); "
          f"DynamoDB requests per 1,000 tasks: {per_1000} (total {meter.total * 1000 / 20_000:.1f})")
    assert meter.requests["BatchWriteItem"] == 800  # 20,000 / 25, nothing retried
    assert meter.requests.get("BatchGetItem", 0) == 0  # a fresh job needs no existence check
    assert meter.total * 1000 / 20_000 <= 43


def test_submit_cli_ingests_in_process(local_config, tmp_path, capsys):
    folder = tmp_path / "config"
    (folder / "schemas").mkdir(parents=True)
    (folder / "sosw.json").write_text(json.dumps({
        "labourers": [{"id": "w"}],
        "scheduler": {"job_schema_variants": {"default": ["section", "store", "product"]}}}))
    (folder / "schemas" / "w.json").write_text(json.dumps({"type": "object", "required": ["sections"]}))
    job = tmp_path / "job.json"
    job.write_text(json.dumps(big_job(days=2, sections=3, stores=100)))
    target = ["--endpoint-url", local_config.dynamodb.endpoint_url, "--config", str(folder),
              "--tasks-table", local_config.tables.tasks, "--jobs-table", local_config.tables.jobs]
    assert main(["submit", str(job), *target, "--progress"]) == 0
    captured = capsys.readouterr()
    assert "done, 600/600 tasks, 600 written now" in captured.out
    assert "600/600 tasks" in captured.err  # one progress line per page
    assert main(["submit", str(job), *target]) == 0
    assert "duplicate" in capsys.readouterr().out
    job.write_text(json.dumps({"lambda_name": "w", "stores": ["a"]}))  # breaks w's schema
    assert main(["submit", str(job), *target]) == 2
    assert "'sections' is a required property" in capsys.readouterr().err

"""The Scheduler's ingestion on moto: job record guards, duplicates, continuations, crashes, zombies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import date

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.adapters.invokers.base import InvokeError
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.job_record import IngestStatus, JobState
from sosw_core.domain.task import TaskState
from sosw_core.errors import ConfigError, InvalidEvent, InvalidJob
from sosw_core.services.ingest import MAX_JOB_BYTES, Ingestor, SchemaViolations, load_schemas, plan_job
from sosw_core.services.pages import DEPTH
from sosw_core.wiring import build_scheduler
from tests.fakes import RecordingInvoker, RunsOut
from tests.support import labourer, make_config

LEVELS = ("section", "store", "product")
SCHEDULER = SchedulerConfig(job_schema_variants=(("default", LEVELS), ("flat", ("item",))),
                            time_margin_seconds=30)
AS_OF = date(2019, 1, 31)
START = 1_699_920_000.0 + 3_600  # 2023-11-14T01:00Z: tests that wait for a lease stay on one day


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no error boundary sees it."""


class FaultyBatch(BatchCreator):
    """Runs ``fault`` just before the ``at``-th BatchWriteItem group of this creator."""

    def __init__(self, store, at: int, fault):
        super().__init__(store)
        self.at, self.fault, self.calls, self._lock = at, fault, 0, threading.Lock()

    def write_rows(self, rows):
        with self._lock:
            self.calls += 1
            due = self.calls == self.at
        if due:
            self.fault()
        super().write_rows(rows)


@pytest.fixture
def env():
    with mock_aws():
        config = make_config(None, labourers=(labourer("w"),), scheduler=SCHEDULER)
        store = open_store(config)
        create_tables(store.models)
        yield config, store


def ingestor(env, clock, *, batch=None, invoker=None, **kwargs) -> Ingestor:
    config, store = env
    kwargs.setdefault("writers", 2)
    return build_scheduler(config, replace(store, batch=batch or store.batch),
                           invoker=invoker or RecordingInvoker(), clock=clock, **kwargs)


def flat_job(n: int, **extra) -> dict:
    return {"lambda_name": "w", "sections": [f"s{i}" for i in range(n)], "isolate_sections": True, **extra}


def scan_count(store) -> int:
    """Task rows by a Scan with Select=COUNT (pynamodb's row-by-row scan is slow on moto)."""
    client = boto3.client("dynamodb")
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(
        TableName=store.models.task.Meta.table_name, Select="COUNT"))


def job_rows(env) -> int:
    return sum(1 for _ in env[1].models.job.scan())


# -- the job record's guards ------------------------------------------------------------------
def test_job_record_guards(env):
    jobs = env[1].jobs
    assert jobs.start("j", "w", '{"a": 1}', "A", 100.0, 60, total=10) is not None
    assert jobs.start("j", "w", '{"a": 1}', "B", 100.0, 60) is None  # exists
    assert jobs.take_over("j", "B", 150.0, 60) is None  # A's lease is live
    assert jobs.take_over("j", "B", 161.0, 60).owner == "B"  # expired: B takes over
    # zombie fencing: A's advance fails, B's succeeds; A cannot release or fail B's job either
    assert not jobs.advance("j", "A", 0, 5, 162.0, 60)
    assert not jobs.hand_over("j", "A", 0, 162.0)
    assert not jobs.fail("j", "A", "boom", 162.0)
    assert jobs.advance("j", "B", 0, 5, 162.0, 60)
    assert not jobs.advance("j", "B", 0, 5, 162.0, 60)  # stale cursor
    assert not jobs.finish("j", "B", 10, 163.0)  # cursor is 5 of 10: not all written
    assert jobs.hand_over("j", "B", 5, 163.0)
    assert jobs.take_over("j", "C", 163.0, 60).cursor == 5  # no owner: taken over at once
    assert jobs.advance("j", "C", 5, 10, 164.0, 60) and jobs.finish("j", "C", 10, 165.0)
    record = jobs.get("j")
    assert (record.state, record.cursor, record.total, record.owner) == (JobState.DONE, 10, 10, None)
    assert jobs.take_over("j", "D", 10_000.0, 60) is None  # done jobs are never taken over
    assert [r.job_id for r in jobs.list_jobs(state=JobState.DONE)] == ["j"]
    assert jobs.list_jobs()[0].job is None  # listings leave the body out
    assert jobs.get("missing") is None


# -- fresh jobs and duplicates ----------------------------------------------------------------
def test_fresh_job_then_duplicates_in_any_key_order(env):
    clock = FixedClock(START)
    job = flat_job(250, custom={"b": 1, "a": 2})
    first = ingestor(env, clock, page_size=100).handle(job)
    assert (first["state"], first["total"], first["written"], first["duplicate"]) == ("done", 250, 250, False)
    assert scan_count(env[1]) == 250
    reordered = json.loads(json.dumps(job, sort_keys=True))  # same job, keys in another order
    reordered = dict(reversed(list(reordered.items())))
    again = ingestor(env, clock).handle(json.dumps({"job": reordered}))
    assert again["duplicate"] and again["job_id"] == first["job_id"] and again["state"] is IngestStatus.DONE
    assert scan_count(env[1]) == 250 and job_rows(env) == 1


def test_task_ids_and_payloads_follow_the_plan(env):
    event = {**flat_job(3), "sosw_core": {"job_id": "nightly-2019.01.31"}}
    result = ingestor(env, FixedClock(START)).handle(event)
    task = env[1].tasks.get("nightly-2019.01.31_0000001")
    assert result["job_id"] == "nightly-2019.01.31"
    assert task.payload["sections"] == ["s1"] and task.job_id == "nightly-2019.01.31"
    assert "sosw_core" not in task.payload
    assert task.state is TaskState.QUEUED


def test_a_job_id_key_of_the_job_is_the_users_data(env):
    """sosw 0.7 passed a job's ``job_id`` to the workers: sosw-core's own id never collides."""
    result = ingestor(env, FixedClock(START)).handle({**flat_job(1), "job_id": "free text / not an id"})
    task = env[1].tasks.get(f"{result['job_id']}_0000000")
    assert result["job_id"] != "free text / not an id"
    assert task.payload["job_id"] == "free text / not an id"


def test_duplicate_delivery_while_ingesting_is_a_no_op(env):
    clock = FixedClock(START)
    outcome = {}
    batch = FaultyBatch(env[1].tasks, at=3, fault=lambda: outcome.update(
        dup=ingestor(env, clock).handle(flat_job(300))))  # arrives while page 0 is being written
    done = ingestor(env, clock, batch=batch, page_size=100).handle(flat_job(300))
    assert outcome["dup"]["duplicate"] and outcome["dup"]["state"] is IngestStatus.INGESTING
    assert done["state"] == "done" and scan_count(env[1]) == 300


# -- invalid jobs write nothing ---------------------------------------------------------------
@pytest.mark.parametrize("event, path", [
    ("{not json", None),
    ({"sections": ["a"]}, "lambda_name"),
    ({"lambda_name": "nobody", "x": 1}, "lambda_name"),
    ({"lambda_name": "w", "job_schema_name": "nope"}, "job_schema_name"),
    ({"lambda_name": "w", "sosw_core": {"job_id": "bad id/with slash"}}, "sosw_core.job_id"),
    ({"lambda_name": "w", "sections": {"a": None}, "blob": "x" * MAX_JOB_BYTES}, "job"),
])
def test_invalid_jobs_write_nothing(env, event, path):
    with pytest.raises(InvalidJob) as err:
        ingestor(env, FixedClock(START)).handle(event)
    if path is not None:
        assert err.value.path == path
    assert scan_count(env[1]) == 0 and job_rows(env) == 0


def test_oversized_payload_writes_nothing(env):
    config, store = env
    small = make_config(None, labourers=(labourer("w"),),
                        scheduler=SchedulerConfig(job_schema_variants=SCHEDULER.job_schema_variants,
                                                  max_payload_bytes=2_000))
    job = {"lambda_name": "w", "isolate_sections": True,
           "sections": {"a": None, "b": {"big": "x" * 3_000}}}
    with pytest.raises(InvalidJob) as err:
        build_scheduler(small, store, invoker=RecordingInvoker(), clock=FixedClock(START)).handle(job)
    assert err.value.path == "task 1" and "3" in err.value.rule
    assert scan_count(store) == 0 and job_rows(env) == 0


def test_schema_violations_are_all_listed_and_nothing_written(env):
    schema = {"type": "object", "required": ["period"],
              "properties": {"sections": {"type": "array", "items": {"type": "string", "pattern": "^s"}},
                             "period": {"type": "string"}}}
    job = {"lambda_name": "w", "sections": ["s1", "x2", 3]}
    with pytest.raises(SchemaViolations) as err:
        ingestor(env, FixedClock(START), schemas={"w": schema}).handle(job)
    paths = [path for path, _ in err.value.violations]
    assert sorted(paths) == ["$", "$.sections[1]", "$.sections[2]"]
    assert "'period' is a required property" in str(err.value)
    assert scan_count(env[1]) == 0 and job_rows(env) == 0


def test_schema_without_jsonschema_is_a_clear_config_error(monkeypatch, env):
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    with pytest.raises(ConfigError, match="sosw-core\\[schema\\]"):
        ingestor(env, FixedClock(START), schemas={"w": {"type": "object"}})
    ingestor(env, FixedClock(START), schemas={})  # no schema configured: jsonschema not needed


def test_load_schemas(tmp_path):
    (tmp_path / "w.json").write_text('{"type": "object"}')
    assert load_schemas(tmp_path) == {"w": {"type": "object"}}
    assert load_schemas(tmp_path / "absent") == {}
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="bad"):
        load_schemas(tmp_path)


def test_the_job_id_is_the_same_for_any_key_order_and_payloads_follow_the_job():
    """Key order does not change the job's id; the tasks come in the job's order, as in sosw 0.7."""
    job = {"lambda_name": "w", "isolate_sections": True,
           "sections": {"b": {"stores": {"y": None, "x": None}}, "a": None, "c": {"k": 1, "j": 2}}}
    shuffled = {"sections": {"c": {"j": 2, "k": 1}, "a": None, "b": {"stores": {"y": None, "x": None}}},
                "isolate_sections": True, "lambda_name": "w"}
    one, two = plan_job(job, SCHEDULER, AS_OF), plan_job(shuffled, SCHEDULER, AS_OF)
    assert one.job_id == two.job_id
    assert [(p["sections"], p.get("stores")) for p in one.payloads()] == [
        (["b"], ["y", "x"]), (["a"], None), (["c"], None)]
    assert [p["sections"] for p in two.payloads()] == [["c"], ["a"], ["b"]]


def test_the_payload_style_comes_from_the_job_else_the_labourer_and_is_kept_by_the_record():
    job = {"lambda_name": "w", "period": "today", "x": 1}
    assert list(plan_job(job, SCHEDULER, AS_OF).payloads()) == [{"period": "today", "x": 1}]
    clean = plan_job(job, SCHEDULER, AS_OF, payload_styles={"w": "clean"})
    assert list(clean.payloads()) == [{"x": 1, "date_list": [AS_OF.isoformat()]}]
    chosen = plan_job({**job, "sosw_core": {"payload_style": "clean"}}, SCHEDULER, AS_OF,
                      payload_styles={"w": "sosw07"})
    assert list(chosen.payloads()) == list(clean.payloads())
    assert clean.job_id == plan_job(job, SCHEDULER, AS_OF).job_id  # the labourer's style is not the job's


# -- continuations, crashes and zombies -------------------------------------------------------
def drive(env, clock, event, context_checks: int, **kwargs) -> tuple[dict, int]:
    """Run a job to the end, feeding each continuation back; the result and the invocations."""
    invoker = RecordingInvoker()
    result = ingestor(env, clock, invoker=invoker, **kwargs).handle(event, RunsOut(context_checks))
    invocations = 1
    while result["state"] == "continued":
        (function, event), = invoker.take()
        assert function == env[0].scheduler_function and "continue_job" in event
        clock.advance(1)
        result = ingestor(env, clock, invoker=invoker, **kwargs).handle(event, RunsOut(context_checks))
        invocations += 1
    return result, invocations


def test_continuation_until_done(env):
    clock = FixedClock(START)
    # each invocation reads the context once for its lease, then once per page: 4 pages each
    result, invocations = drive(env, clock, flat_job(525), context_checks=5, page_size=25)
    assert result["state"] == "done" and invocations == 6  # 4 pages per invocation, 21 pages
    assert scan_count(env[1]) == 525
    record = env[1].jobs.get(result["job_id"])
    assert (record.state, record.cursor, record.total) == (JobState.DONE, 525, 525)


def test_failed_continuation_invoke_leaves_the_job_resumable(env):
    clock = FixedClock(START)
    refusing = RecordingInvoker(failing=[env[0].scheduler_function])
    with pytest.raises(InvokeError):
        ingestor(env, clock, invoker=refusing, page_size=50).handle(flat_job(120), RunsOut(2))
    record, = env[1].jobs.list_jobs()
    assert (record.cursor, record.owner) == (50, None)  # handed over before the invoke
    result = ingestor(env, clock, page_size=50).handle(flat_job(120))  # Lambda retries the event
    assert result["state"] == "done" and result["skipped"] == 0 and scan_count(env[1]) == 120


def test_continuation_of_an_unknown_job_is_an_invalid_event(env):
    with pytest.raises(InvalidEvent):
        ingestor(env, FixedClock(START)).handle({"continue_job": "nope"})


def test_crash_mid_page_then_redelivery_loses_and_duplicates_nothing(env):
    config, store = env
    clock = FixedClock(START)

    def crash():
        raise Crash()

    batch = FaultyBatch(store.tasks, at=7, fault=crash)  # page 1 (100..199) is partly written
    with pytest.raises(Crash):
        ingestor(env, clock, batch=batch, page_size=100).handle(flat_job(450))
    written = scan_count(store)
    assert 100 < written < 100 + 100 * DEPTH  # page 2 may be in flight too, but page 1 is not whole
    record, = store.jobs.list_jobs()
    assert record.cursor == 100 and record.owner is not None
    claimed = store.tasks.claim(f"{record.job_id}_0000101", 0, config.labourer("w"), clock.now())
    assert claimed is not None
    # before the lease runs out a re-delivery is a no-op; after it, it resumes at the cursor
    assert ingestor(env, clock).handle(flat_job(450))["duplicate"]
    clock.advance(10_000)
    result = ingestor(env, clock, page_size=100).handle(flat_job(450))
    assert result["state"] == "done" and result["skipped"] == written - 100
    assert scan_count(store) == 450
    assert store.tasks.get(f"{record.job_id}_0000101").state is TaskState.INVOKED  # not reset


def test_error_releases_the_lease_for_an_immediate_retry(env):
    clock = FixedClock(START)

    def boom():
        raise RuntimeError("network down")

    batch = FaultyBatch(env[1].tasks, at=5, fault=boom)
    with pytest.raises(RuntimeError):
        ingestor(env, clock, batch=batch, page_size=100).handle(flat_job(300))
    jobs = env[1].jobs
    record = jobs.list_jobs()[0]
    assert record.owner is None and "network down" in record.error
    result = ingestor(env, clock, page_size=100).handle(flat_job(300))  # Lambda's retry, same instant
    assert result["state"] == "done" and scan_count(env[1]) == 300


def test_zombie_is_fenced_after_take_over(env):
    clock = FixedClock(START)
    seen = {}

    def stall_then_lose_the_lease():
        # Call 6 starts only once calls 1-4 (page 0) are written, but the zombie's main thread
        # saves page 0 concurrently with this fault: wait for that save, or the take-over below
        # may win the race and fence the zombie at cursor 0 instead of 100.
        jobs, deadline = env[1].jobs, time.monotonic() + 30
        while jobs.list_jobs()[0].cursor < 100:
            assert time.monotonic() < deadline, "the zombie never saved its first page"
            time.sleep(0.01)
        clock.advance(10_000)  # the zombie stalled past its lease; a re-delivery takes over
        seen["other"] = ingestor(env, clock, page_size=100).handle(flat_job(600))

    batch = FaultyBatch(env[1].tasks, at=6, fault=stall_then_lose_the_lease)
    zombie = ingestor(env, clock, batch=batch, page_size=100).handle(flat_job(600))
    assert seen["other"]["state"] == "done"
    assert zombie["state"] is IngestStatus.LEASE_LOST and zombie["cursor"] == 100  # stopped after its page
    assert batch.calls <= 4 * (1 + DEPTH)  # it sent no page after the DEPTH pages in flight
    assert scan_count(env[1]) == 600


# -- memory -----------------------------------------------------------------------------------
MEMORY_SCRIPT = """
import json, time
from moto import mock_aws
from sosw_core.clock import FixedClock
from sosw_core.config import LabourerConfig, SchedulerConfig, SoswConfig
from dataclasses import replace
from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.wiring import build_scheduler


class NullBatch(BatchCreator):  # gets every row built as for DynamoDB, sends none
    rows = 0

    def write_rows(self, rows):
        assert all(isinstance(row, dict) and "task_id" in row for row in rows)
        self.rows += len(rows)

    def existing_ids(self, task_ids):
        return set()


def rss_mb():  # VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's)
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


job = {"lambda_name": "w", "period": "last_10_days", "isolate_days": True, "isolate_sections": True,
       "isolate_stores": True,
       "sections": {f"sec{i:03d}": {"stores": [f"st{j:03d}" for j in range(100)]} for i in range(100)}}
with mock_aws():
    config = SoswConfig(labourers=(LabourerConfig("w"),), scheduler=SchedulerConfig(
        job_schema_variants=(("default", ("section", "store", "product")),)))
    store = open_store(config)
    create_tables(store.models)
    batch = NullBatch(store.tasks)
    before = rss_mb()
    started = time.perf_counter()
    result = build_scheduler(config, replace(store, batch=batch), invoker=None,
                             clock=FixedClock(1_699_920_000.0)).handle(job)
    print(json.dumps({"state": result["state"], "rows": batch.rows, "rss_before_mb": before,
                      "rss_peak_mb": rss_mb(), "seconds": time.perf_counter() - started}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc (Linux)")
def test_peak_memory_of_a_100k_task_ingest():
    """A fresh interpreter, like a Lambda container: its peak RSS over a 100,000-task ingest."""
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True,
                          check=True, timeout=600,
                          env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                               "AWS_DEFAULT_REGION": "us-east-1"})
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n100,000-task ingest (rows built and serialised, not sent): process peak RSS "
          f"{figures['rss_peak_mb']:.0f} MB (after imports and setup {figures['rss_before_mb']:.0f} MB), "
          f"{figures['seconds']:.1f}s")
    assert figures["state"] == "done" and figures["rows"] == 100_000
    assert figures["rss_peak_mb"] < 200


def test_a_job_that_makes_no_task_is_done_with_none(env):
    """sosw 0.7 made no task for an isolated level whose value is empty; the job is done, total 0."""
    result = ingestor(env, FixedClock(START)).handle({"lambda_name": "w", "isolate_sections": True, "sections": {}})
    assert (result["state"], result["total"], result["written"]) == (IngestStatus.DONE, 0, 0)
    assert scan_count(env[1]) == 0

"""Large job bodies kept in part items, task rows as plain items, the page pipeline (moto)."""

from __future__ import annotations

import gzip
import json
import threading

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.dynamodb.batch import ItemFactory, new_item
from sosw_core.adapters.dynamodb.job_document import (
    INLINE_BYTES,
    MAX_JOB_BYTES,
    PART_BYTES,
    REFERENCE_KEY,
    JobDocumentMissing,
    encode,
    part_key,
)
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.job_record import JobState
from sosw_core.domain.task import NewTask, TaskState
from sosw_core.errors import InvalidJob
from sosw_core.services.ingest import Ingestor
from sosw_core.services.pages import PagePipeline
from sosw_core.wiring import build_scheduler
from tests.fakes import RecordingInvoker, RunsOut
from tests.support import labourer, make_config

SCHEDULER = SchedulerConfig(job_schema_variants=(("default", ("section", "store", "product")),),
                            time_margin_seconds=30)
START = 1_699_920_000.0 + 3_600


@pytest.fixture
def env():
    with mock_aws():
        config = make_config(None, labourers=(labourer("w"),), scheduler=SCHEDULER)
        store = open_store(config)
        create_tables(store.models)
        yield config, store


def ingestor(env, clock, invoker=None, **kwargs) -> Ingestor:
    config, store = env
    return build_scheduler(config, store, invoker=invoker or RecordingInvoker(), clock=clock, **kwargs)


def flat_job(n: int, **extra) -> dict:
    """sosw's own job shape: one task per name (50,000 names are ~1 MB of JSON)."""
    return {"lambda_name": "w", "isolate_sections": True, "sections": [f"section_{i:06d}" for i in range(n)],
            **extra}


def count(store, table: str) -> int:
    client = boto3.client("dynamodb")
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


def tasks_in_table(store) -> int:
    return count(store, store.models.task.Meta.table_name)


def job_items(store) -> int:
    return count(store, store.models.job.Meta.table_name)


# -- task rows as plain items -------------------------------------------------------------------
@pytest.mark.parametrize("now", [START, START + 0.123456, 5, 1.0])
@pytest.mark.parametrize("job_id", [None, "nightly"])
def test_new_item_is_the_row_new_row_serialises(env, now, job_id):
    task = NewTask("nightly_0000007", "w", {"b": [1, 2.5, "x"], "a": {"z": None}}, job_id=job_id)
    expected = env[1].tasks.new_row(task, now).serialize()
    for item in (new_item(task, now), ItemFactory(now)(task.task_id, "w", job_id, task.payload_json)):
        assert len(item.pop("token")["S"]) == len(expected["token"]["S"])
        assert item == {key: value for key, value in expected.items() if key != "token"}


def test_plain_items_read_back_as_queued_tasks(env):
    config, store = env
    tasks = [NewTask(f"t{i}", "w", {"i": i}, job_id="j") for i in range(30)]
    result = store.batch.create_many(tasks, START)
    assert (result.created, result.skipped) == (30, 0)
    task = store.tasks.get("t29")
    assert (task.state, task.payload, task.job_id, task.attempts) == (TaskState.QUEUED, {"i": 29}, "j", 0)
    assert store.tasks.claim("t29", 0, config.labourer("w"), START + 1) is not None
    assert store.batch.create_many(tasks, START).skipped == 30  # idempotent: nothing reset
    assert store.tasks.get("t29").state is TaskState.INVOKED


# -- the page pipeline --------------------------------------------------------------------------
def test_pipeline_hands_pages_back_in_order_after_their_writes():
    written: list[str] = []
    lock = threading.Lock()
    gate = threading.Event()

    def write(batch):
        if batch[0]["id"] == "p0-0":
            gate.wait(5)  # the first page's first batch is the slowest
        with lock:
            written.extend(item["id"] for item in batch)

    pipeline = PagePipeline(write, writers=4, depth=2)
    pipeline.send(0, 30, 0, [{"id": f"p0-{i}"} for i in range(30)])
    pipeline.send(30, 30, 2, [{"id": f"p1-{i}"} for i in range(28)])
    assert pipeline.full
    gate.set()
    first = pipeline.oldest_done()
    assert (first.start, first.size) == (0, 30) and {f"p0-{i}" for i in range(30)} <= set(written)
    second = pipeline.oldest_done()
    assert (second.start, second.found) == (30, 2) and len(written) == 58 and pipeline.empty
    pipeline.close()


def test_pipeline_propagates_a_write_error():
    def write(batch):
        raise RuntimeError("throttled for good")

    pipeline = PagePipeline(write, writers=2)
    pipeline.send(0, 1, 0, [{"id": "x"}])
    with pytest.raises(RuntimeError, match="throttled"):
        pipeline.oldest_done()
    pipeline.close()
    with pytest.raises(ValueError, match="at least 1"):
        PagePipeline(write, writers=0)


# -- job bodies ---------------------------------------------------------------------------------
def test_small_bodies_stay_plain_and_large_ones_are_split_and_deterministic():
    small = json.dumps(flat_job(16_000), sort_keys=True)  # ~290 KB: as before, plain in the record
    assert encode(small).record_value == json.loads(small) and encode(small).parts == ()
    noise = json.dumps({"lambda_name": "w", "blob": [f"{i * 7919 % 1_000_003:x}{i}" for i in range(400_000)]},
                       sort_keys=True)  # compresses poorly: several parts
    stored = encode(noise)
    assert len(noise) > INLINE_BYTES and len(stored.parts) > 1
    assert all(len(part) <= PART_BYTES for part in stored.parts)
    assert gzip.decompress(b"".join(stored.parts)) == noise.encode()
    assert stored.record_value[REFERENCE_KEY]["parts"] == len(stored.parts)
    assert encode(noise) == stored  # same body, same bytes, same keys: re-writing is idempotent


def test_a_50000_id_flat_job_ingests_fully_through_continuations(env):
    """50,000 ids in one flat list (~1 MB of JSON, over the old 300 KB cap), 100 per task (sosw's
    ``max_sections_per_batch``) so that moto stays fast; DynamoDB Local runs one task per id."""
    config, store = env
    clock = FixedClock(START)
    job = flat_job(50_000, max_sections_per_batch=100)
    assert len(json.dumps(job)) > 300 * 1024
    invoker = RecordingInvoker()
    results = [ingestor(env, clock, invoker, page_size=50).handle(job, RunsOut(5))]  # 4 pages each
    while results[-1]["state"] == "continued":
        (_, event), = invoker.take()
        clock.advance(1)
        results.append(ingestor(env, clock, invoker, page_size=50).handle(event, RunsOut(5)))
    assert [r["state"] for r in results] == ["continued"] * 2 + ["done"]
    assert sum(r["written"] for r in results) == 500 and tasks_in_table(store) == 500
    ids = [name for row in store.models.task.scan() for name in json.loads(row.payload)["sections"]]
    assert sorted(ids) == job["sections"]  # every id in exactly one task
    job_id = results[0]["job_id"]
    record = store.jobs.get(job_id)
    assert (record.state, record.cursor, record.total) == (JobState.DONE, 500, 500)
    assert set(record.job) == {REFERENCE_KEY} and job_items(store) == 1 + record.job[REFERENCE_KEY]["parts"]
    again = ingestor(env, clock).handle(job)  # re-sent: parts rewritten identically, no task
    assert again["duplicate"] and tasks_in_table(store) == 500
    assert job_items(store) == 1 + record.job[REFERENCE_KEY]["parts"]


def test_another_body_under_the_same_job_id_never_touches_the_running_jobs_parts(env):
    config, store = env
    clock = FixedClock(START)
    job = flat_job(20_000, sosw_core={"job_id": "nightly"}, max_sections_per_batch=100)  # ~360 KB: stored in a part
    first = ingestor(env, clock, page_size=50).handle(job, RunsOut(2))
    assert first["state"] == "continued"
    # Same job_id, another body, while the continuation is due: it takes the job over and goes
    # on with the plan the job started with; its own body is written under another digest.
    other = ingestor(env, clock, page_size=50).handle({**job, "sections": job["sections"] + ["extra"]})
    assert other["state"] == "done" and other["total"] == 200 and tasks_in_table(store) == 200
    assert store.tasks.get("nightly_0000199").payload["sections"][-1] == "section_019999"
    assert job_items(store) == 3  # the record, the first body's part, the other body's part
    assert ingestor(env, clock).handle({"continue_job": "nightly"})["duplicate"]


def test_a_missing_part_fails_the_job_instead_of_planning_other_tasks(env):
    config, store = env
    clock = FixedClock(START)
    job = flat_job(20_000, sosw_core={"job_id": "nightly"}, max_sections_per_batch=100)
    result = ingestor(env, clock, page_size=50).handle(job, RunsOut(2))
    record = store.jobs.get("nightly")
    reference = record.job[REFERENCE_KEY]
    store.models.job._get_connection().delete_item(part_key("nightly", reference["digest"], 0))
    with pytest.raises(JobDocumentMissing, match="missing"):
        ingestor(env, clock).handle({"continue_job": result["job_id"]})
    failed = store.jobs.get("nightly")
    assert failed.state is JobState.FAILED and "JobDocumentMissing" in failed.error
    assert tasks_in_table(store) == 50  # nothing written after the cursor


def test_a_job_over_the_limit_is_refused_before_any_write(env):
    config, store = env
    names = [f"n{i:09d}" for i in range(MAX_JOB_BYTES // 13 + 10)]  # "n000000000", = 13 bytes each
    with pytest.raises(InvalidJob) as err:
        ingestor(env, FixedClock(START)).handle({"lambda_name": "w", "isolate_names": True, "names": names})
    assert err.value.path == "job" and "10 MiB" in err.value.rule
    assert tasks_in_table(store) == 0 and job_items(store) == 0


def test_documents_read_plain_values_as_they_are(env):
    documents = env[1].documents
    assert documents.body("j", {"a": 1}) == {"a": 1}
    assert documents.body("j", None) == {}


def test_job_listings_skip_body_parts(env):
    config, store = env
    ingestor(env, FixedClock(START)).handle(flat_job(20_000, max_sections_per_batch=1_000))
    assert job_items(store) == 2  # the record and its body's one part
    record, = store.jobs.list_jobs()
    assert record.state is JobState.DONE and record.total == 20

"""The Scheduler's job records and job bodies: the lease, the cursor and their guards."""

from __future__ import annotations

import json
import random

import pytest

from sosw_core.domain.job_document import REFERENCE_KEY, JobDocumentMissing, encode
from sosw_core.domain.job_record import JobState
from tests.contract.steps import T0

BODY = {"labourer_id": "w", "tasks": [{"n": 1}]}
LEASE = 60


def start(store, job_id="j1", owner="a", now=T0, **kwargs):
    return store.jobs.start(job_id, "w", json.dumps(BODY), owner, now, LEASE, **kwargs)


def test_a_job_is_started_once(any_store):
    record = start(any_store, total=10, as_of="2026-01-31", chunkable_attrs=("stores", "dates"))
    assert (record.state, record.cursor, record.total, record.owner, record.lease_until) == (
        JobState.INGESTING, 0, 10, "a", T0 + LEASE)
    assert start(any_store, owner="b", now=T0 + 1) is None  # a second delivery of the same job
    again = any_store.jobs.get("j1")
    assert again == record
    assert (again.job, again.as_of, again.chunkable_attrs) == (BODY, "2026-01-31", ("stores", "dates"))
    assert any_store.jobs.get("nothing") is None


def test_a_live_lease_is_not_taken_over_an_expired_one_is(any_store):
    start(any_store)
    assert any_store.jobs.take_over("j1", "b", T0 + LEASE, LEASE) is None  # lease_until < now: not yet
    taken = any_store.jobs.take_over("j1", "b", T0 + LEASE + 1, LEASE)
    assert (taken.owner, taken.lease_until, taken.cursor) == ("b", T0 + 2 * LEASE + 1, 0)
    assert any_store.jobs.take_over("nothing", "b", T0, LEASE) is None


def test_a_fenced_off_owner_cannot_move_the_cursor_hand_over_or_fail(any_store):
    start(any_store)
    assert any_store.jobs.advance("j1", "a", 0, 500, T0 + 1, LEASE)
    assert not any_store.jobs.advance("j1", "a", 0, 1000, T0 + 2, LEASE)  # not the cursor it saw
    any_store.jobs.take_over("j1", "b", T0 + 1 + LEASE + 1, LEASE)  # a stalled: b took over
    assert not any_store.jobs.advance("j1", "a", 500, 1000, T0 + 70, LEASE)
    assert not any_store.jobs.hand_over("j1", "a", 500, T0 + 70)
    assert not any_store.jobs.fail("j1", "a", "zombie", T0 + 70)
    assert not any_store.jobs.finish("j1", "a", 500, T0 + 70)
    record = any_store.jobs.get("j1")
    assert (record.state, record.owner, record.cursor) == (JobState.INGESTING, "b", 500)


def test_a_handed_over_job_is_taken_over_at_once(any_store):
    start(any_store)
    any_store.jobs.advance("j1", "a", 0, 700, T0 + 1, LEASE)
    assert any_store.jobs.hand_over("j1", "a", 700, T0 + 2, error="out of time")
    record = any_store.jobs.get("j1")
    assert (record.owner, record.lease_until, record.error) == (None, None, "out of time")
    taken = any_store.jobs.take_over("j1", "c", T0 + 3, LEASE)  # its lease has not run out: no owner
    assert (taken.owner, taken.cursor) == ("c", 700)


def test_finish_needs_every_task_written(any_store):
    start(any_store)
    assert not any_store.jobs.finish("j1", "a", 10, T0 + 1)  # cursor 0 of 10
    any_store.jobs.advance("j1", "a", 0, 10, T0 + 1, LEASE)
    any_store.jobs.hand_over("j1", "a", 10, T0 + 1, error="transient")
    any_store.jobs.take_over("j1", "a", T0 + 2, LEASE)
    assert any_store.jobs.finish("j1", "a", 10, T0 + 2)
    done = any_store.jobs.get("j1")
    assert (done.state, done.total, done.owner, done.lease_until, done.error) == (JobState.DONE, 10, None, None, None)
    assert any_store.jobs.take_over("j1", "b", T0 + 1000, LEASE) is None  # done is final


def test_fail_records_the_error_cut_to_its_limit(any_store):
    start(any_store)
    assert any_store.jobs.fail("j1", "a", "x" * 3000, T0 + 1)
    failed = any_store.jobs.get("j1")
    assert (failed.state, failed.owner, len(failed.error)) == (JobState.FAILED, None, 2000)
    assert not any_store.jobs.fail("j1", "a", "again", T0 + 2)


def test_list_jobs_newest_first_without_bodies(any_store):
    for i, labourer_id in enumerate(["w", "v", "w"]):
        any_store.jobs.start(f"j{i}", labourer_id, json.dumps(BODY), "a", T0 + i, LEASE)
    any_store.jobs.fail("j0", "a", "bad", T0 + 5)
    assert [r.job_id for r in any_store.jobs.list_jobs()] == ["j2", "j1", "j0"]
    assert all(r.job is None for r in any_store.jobs.list_jobs())
    assert [r.job_id for r in any_store.jobs.list_jobs(labourer_id="w")] == ["j2", "j0"]
    assert [r.job_id for r in any_store.jobs.list_jobs(state=JobState.FAILED)] == ["j0"]
    assert [r.job_id for r in any_store.jobs.list_jobs(limit=1)] == ["j2"]


def test_a_large_body_is_stored_in_parts_and_read_back_whole(any_store):
    rng = random.Random(7)  # names that do not compress well: the body needs two parts
    body = {"labourer_id": "w", "names": [f"{rng.getrandbits(96):024x}" for _ in range(40_000)]}
    stored = encode(json.dumps(body, sort_keys=True, separators=(",", ":")))
    assert len(stored.parts) >= 2
    assert any_store.documents.write_parts("big", stored, T0) == len(stored.parts)
    assert any_store.documents.write_parts("big", stored, T0) == len(stored.parts)  # idempotent
    any_store.jobs.start("big", "w", json.dumps(stored.record_value), "a", T0, LEASE)
    record = any_store.jobs.get("big")
    assert record.job == stored.record_value
    assert any_store.documents.body("big", record.job) == body
    assert any_store.documents.body("small", BODY) == BODY
    assert any_store.jobs.list_jobs() == [record.__class__(**{**record.__dict__, "job": None})]  # parts are no jobs


def test_a_body_whose_parts_are_missing_is_an_error(any_store):
    reference = {REFERENCE_KEY: {"encoding": "gzip", "digest": "0" * 32, "parts": 1}}
    with pytest.raises(JobDocumentMissing, match="body part 'j1#doc-0{32}-000' is missing"):
        any_store.documents.body("j1", reference)

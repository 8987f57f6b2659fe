"""Fuzzing the Scheduler: any job either plans tasks or raises one InvalidJob naming a real path.

Three properties over the same generated jobs (``tests/fuzz/jobs.py``):

1. pure chunking (``plan``): tasks, or ``InvalidJob`` whose ``path`` is a real place in the job
   and whose ``rule`` is non-empty; nothing else escapes;
2. the ingestion planner (``plan_job`` + the dry pass, what ``sosw-core plan`` and the Scheduler
   run): the same, plus the JSON and payload-size rules;
3. the Scheduler on moto: an invalid job writes nothing (rows of the tasks and jobs tables
   counted by Scan), a valid one writes exactly the task rows it reports, and its job record.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from typing import Any

import boto3
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from sosw_core.adapters.dynamodb import create_tables, delete_tables
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.chunking import plan
from sosw_core.domain.job import ENVELOPE_KEYS, parse_job
from sosw_core.errors import InvalidJob
from sosw_core.services.ingest import count_checked, plan_job
from sosw_core.wiring import build_scheduler
from tests.fuzz.jobs import VARIANTS, job_events
from tests.fuzz.profiles import CI, examples

TODAY = date(2019, 1, 31)
SCHEDULER = SchedulerConfig(job_schema_variants=VARIANTS)
NOW = 1_548_892_800.0  # 2019-01-31T00:00Z
RECYCLE_ROWS = 300
SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def resolves(job: dict[str, Any] | None, path: str) -> bool:
    """Does ``path`` (``sections.s1.stores[2]``) name a place in ``job``? The envelope's own
    names and ``job`` always do (a required field may be what is missing)."""
    if path in ("job", *ENVELOPE_KEYS):
        return True
    if job is None:
        return False
    node: Any = job
    for part in path.split("."):
        match = SEGMENT.fullmatch(part)
        if match is None or not isinstance(node, dict) or match[1] not in node:
            return False
        node = node[match[1]]
        for index in re.findall(r"\[(\d+)\]", match[2]):
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
    return True


def check_invalid(exc: InvalidJob, job: dict[str, Any] | None) -> None:
    assert isinstance(exc.rule, str) and exc.rule.strip(), exc
    assert resolves(job, exc.path), f"path {exc.path!r} is not in the job: {exc}"
    assert str(exc) == f"{exc.path}: {exc.rule}"


def test_the_path_checker_can_fail():
    job = {"sections": {"a": {"stores": [1, {"b": 2}]}}}
    assert resolves(job, "sections.a.stores[1].b") and resolves(None, "lambda_name")
    assert not resolves(job, "sections.b") and not resolves(job, "sections.a.stores[2]")
    assert not resolves(job, "sections.a.stores.b") and not resolves(None, "sections")


@examples(ci=250)
@given(case=job_events())
def test_plan_yields_tasks_or_one_invalid_job(case):
    raw, job = case
    try:
        payloads = list(plan(raw, VARIANTS, TODAY, style="clean"))  # clean: a period is always expanded
    except InvalidJob as exc:
        event("invalid")
        check_invalid(exc, job)
        return
    event("tasks")
    # no payload at all is possible: an isolated level whose value is falsy gives no task (sosw 0.7)
    assert all(isinstance(p, dict) for p in payloads)
    assert not any(key in p for p in payloads for key in ENVELOPE_KEYS)
    parsed = parse_job(raw)
    if isinstance(parsed.body.get("period"), str) and parsed.body["period"]:
        assert all(p["date_list"] for p in payloads)


@examples(ci=150)
@given(case=job_events())
def test_ingestion_plan_counts_tasks_or_raises_one_invalid_job(case):
    raw, job = case
    try:
        planned = plan_job(raw, SCHEDULER, TODAY)
        total = count_checked(planned, SCHEDULER.max_payload_bytes)
    except InvalidJob as exc:
        event("invalid")
        if not exc.path.startswith("task "):  # the payload-size rule names the task's position
            check_invalid(exc, job)
        else:
            assert exc.rule.startswith("payload is")
        return
    event("tasks" if total else "no tasks")
    assert sum(1 for _ in planned.tasks()) == total


def _count(table: str) -> int:
    client = boto3.client("dynamodb")
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


class NoInvoker:
    def invoke(self, function_name: str, event: dict) -> None:
        raise AssertionError("a job without a Lambda context never hands over")


@pytest.fixture(scope="module")
def scheduler_world(moto_world):
    """The Scheduler on the module's tables, and the row counts the tables must hold now."""
    config, store = moto_world
    config = dataclasses.replace(config, scheduler=SCHEDULER)
    jobs = store.jobs
    ingestor = build_scheduler(config, store, invoker=NoInvoker(), clock=FixedClock(NOW), writers=1)
    return store, jobs, ingestor, {"tasks": 0, "jobs": 0}


# Valid jobs are ingested every time under ci, one in ten under chaos: the property is about
# invalid jobs, and writing thousands of valid ones on moto would take most of the run.
VALID_INGEST_ODDS = 1 if settings.get_current_profile_name() == CI else 10


@examples(ci=50, chaos=10_000)
@given(case=job_events(), pick=st.sampled_from(range(VALID_INGEST_ODDS)))
def test_the_scheduler_writes_nothing_for_an_invalid_job(scheduler_world, case, pick):
    store, jobs, ingestor, expected = scheduler_world
    tasks_table, jobs_table = store.models.task.Meta.table_name, store.models.job.Meta.table_name
    if expected["tasks"] > RECYCLE_ROWS:  # keep each Scan short over thousands of examples (chaos)
        delete_tables(store.models)
        create_tables(store.models)
        expected.update(tasks=0, jobs=0)
    raw, job = case
    try:
        planned = ingestor.plan(raw, TODAY)
        count_checked(planned, SCHEDULER.max_payload_bytes)
    except InvalidJob:
        pass  # invalid: handle() must raise it too, and write nothing
    else:
        if pick != 0:
            event("valid, planned only")
            return
    before = expected["tasks"], expected["jobs"]
    try:
        result = ingestor.handle(raw, as_of=TODAY)
    except InvalidJob as exc:
        event("invalid")
        assert (_count(tasks_table), _count(jobs_table)) == before, f"{exc} but rows were written"
        return
    event("valid, duplicate" if result["duplicate"] else "valid, ingested")
    written = 0 if result["duplicate"] else result["written"]
    expected.update(tasks=_count(tasks_table), jobs=_count(jobs_table))
    assert expected["tasks"] == before[0] + written
    assert expected["jobs"] >= before[1] + (0 if result["duplicate"] else 1)  # the record, maybe pages
    assert result["state"] == "done" and jobs.get(result["job_id"]).state.value == "done"

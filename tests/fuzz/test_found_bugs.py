"""Regression tests for what the fuzzers found: each input used to escape as another exception
(or reach DynamoDB and fail there); now it is one clear error naming the field, before any write."""

from __future__ import annotations

from datetime import date

import pytest

from sosw_core.domain.chunking import plan
from sosw_core.domain.events import MAX_REPORT_DEPTH, parse_report, split_worker_event
from sosw_core.domain.job import MAX_JOB_DEPTH
from sosw_core.errors import InvalidEvent, InvalidJob
from tests.fuzz.events import deep

VARIANTS = (("default", ("section", "store")),)
TODAY = date(2019, 1, 31)


def report(**fields) -> dict:
    return {"action": "mark_task_as_completed", "task_id": "t-1", "labourer_id": "w", "attempt": 1,
            "token": "tok", **fields}


@pytest.mark.parametrize(("period", "was"), [
    ("999999999_days_back", "OverflowError"),
    ("last_800000_days", "OverflowError"),
    ("previous_400000_days", "OverflowError"),
    ("9" * 5000 + "_days_back", "ValueError (int digits limit)"),
])
def test_a_period_out_of_the_calendar_is_an_invalid_job(period, was):
    with pytest.raises(InvalidJob) as info:
        list(plan({"lambda_name": "w", "period": period}, VARIANTS, TODAY, style="clean"))
    assert info.value.path == "period" and "out of range" in info.value.rule, was
    assert len(str(info.value)) < 400


def test_a_batch_size_of_5000_digits_is_an_invalid_job():
    with pytest.raises(InvalidJob) as info:  # was ValueError from int()
        list(plan({"lambda_name": "w", "sections": ["a"], "max_sections_per_batch": "1" * 5000}, VARIANTS, TODAY))
    assert info.value.path == "max_sections_per_batch" and "must be an integer" in info.value.rule


def nested(depth: int) -> dict:
    job: dict = {"lambda_name": "w"}
    node = job
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return job


@pytest.mark.parametrize("as_text", [False, True], ids=["dict", "json"])
def test_a_job_nested_too_deep_is_an_invalid_job(as_text):
    text = '{"lambda_name": "w", "x": ' + '{"x": ' * 2999 + "{}" + "}" * 3000  # json.dumps cannot write it
    job = text if as_text else nested(3000)  # was RecursionError (json.loads, or deepcopy)
    with pytest.raises(InvalidJob) as info:
        list(plan(job, VARIANTS, TODAY))
    assert "nests deeper" in info.value.rule
    assert info.value.path in ("job", ".".join(["x"] * MAX_JOB_DEPTH))
    assert len(list(plan(nested(MAX_JOB_DEPTH - 2), VARIANTS, TODAY))) == 1  # deep, but within the limit


@pytest.mark.parametrize(("event", "field"), [
    (report(result=deep(3000)), "result"),  # was RecursionError from json.dumps
    ('{"action": "heartbeat", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "event"),  # json.loads
    (report(result=deep(MAX_REPORT_DEPTH + 1)), "result"),  # was a ValidationException from DynamoDB
    (report(stats={"": 1}), "stats"),  # empty map key: ValidationException
    (report(result={"n": 10**40 + 1}), "result.n"),  # 41 significant digits: ValidationException
    (report(result={"f": 1e-300}), "result.f"),  # below 1E-130: ValidationException
    (report(result=[1e200]), "result.value[0]"),  # above 1E+125: ValidationException
    (report(token="tøken"), "token"),  # was TypeError from secrets.compare_digest
])
def test_reports_dynamodb_or_python_could_not_handle_are_invalid_events(event, field):
    with pytest.raises(InvalidEvent) as info:
        parse_report(event)
    assert info.value.field.startswith(field)


def test_storable_extremes_still_pass():
    parsed = parse_report(report(result=deep(MAX_REPORT_DEPTH), stats={"n": 10**40, "f": 1e-130,
                                                                             "g": 9.99e125, "z": 0, "b": True}))
    assert parsed.stats["n"] == 10**40 and parsed.result == deep(MAX_REPORT_DEPTH)


@pytest.mark.parametrize(("envelope", "field"), [
    ({"deadline_at": "soon"}, "sosw_core.deadline_at"),
    ({"deadline_at": float("nan")}, "sosw_core.deadline_at"),
    ({"deadline_at": True}, "sosw_core.deadline_at"),
    ({"job_id": ["j"]}, "sosw_core.job_id"),
])
def test_worker_envelope_fields_are_typed(envelope, field):
    event = {"task_id": "t-1", "sosw_core": {"labourer_id": "w", "attempt": 1, "token": "tok", **envelope}}
    with pytest.raises(InvalidEvent) as info:  # were passed on untyped into the Invocation
        split_worker_event(event)
    assert info.value.field == field

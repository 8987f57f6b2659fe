"""Worker and report events: shapes, validation at the edge, round trips."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sosw_core.domain.events import (
    ENVELOPE,
    MAX_ERROR_TEXT,
    SOSW07_EVENT_FIELDS,
    Action,
    Invocation,
    Report,
    Sosw07Report,
    parse_report,
    parse_sosw07_report,
    read_report,
    split_worker_event,
    worker_event,
)
from sosw_core.domain.task import MAX_REPORT_BYTES, Task, TaskState
from sosw_core.errors import InvalidEvent

INV = Invocation(task_id="t-1", labourer_id="w", attempt=2, token="tok")


def task(**kwargs) -> Task:
    fields = dict(task_id="t-1", labourer_id="w", state=TaskState.INVOKED, payload={"a": 1, "b": [2]},
                  attempts=2, token="tok", created_at=1.0, updated_at=2.0, job_id="j-1", deadline_at=60.0)
    fields.update(kwargs)
    return Task(**fields)


def base(action: str = "mark_task_as_completed", **fields) -> dict:
    return {"action": action, "task_id": "t-1", "labourer_id": "w", "attempt": 2, "token": "tok", **fields}


# -- worker events -------------------------------------------------------------------------------
def test_worker_event_is_the_payload_plus_sosw07_fields_and_envelope():
    event = worker_event(task(created_at=1_700_000_000.25))
    assert event == {"a": 1, "b": [2],
                     # sosw 0.7's fields in its shapes: numbers; attempts made before this one
                     "task_id": "t-1", "labourer_id": "w", "created_at": 1_700_000_000.25,
                     "greenfield": 1_700_000_000, "attempts": 1,
                     ENVELOPE: {"labourer_id": "w", "attempt": 2, "token": "tok", "job_id": "j-1",
                                "deadline_at": 60.0}}
    assert type(event["greenfield"]) is int and type(event["attempts"]) is int


def test_the_first_attempt_is_attempts_0_as_in_sosw07():
    assert worker_event(task(attempts=1))["attempts"] == 0


def test_payload_keys_the_sosw07_fields_replace_come_back_to_a_sosw_core_worker():
    payload = {"attempts": "mine", "created_at": [1], "task_id": "payload's", "x": 1}
    event = json.loads(json.dumps(worker_event(task(payload=payload))))
    assert (event["attempts"], event["task_id"]) == (1, "t-1")  # as sosw 0.7: the task's fields win
    assert event[ENVELOPE]["shadowed"] == {"attempts": "mine", "created_at": [1], "task_id": "payload's"}
    assert split_worker_event(event)[0] == payload


def test_a_sosw07_worker_reads_what_sosw07_gave_it():
    event = json.loads(json.dumps(worker_event(task())))
    assert {k: event[k] for k in SOSW07_EVENT_FIELDS} == {
        "task_id": "t-1", "labourer_id": "w", "created_at": 1.0, "greenfield": 1, "attempts": 1}
    assert event["a"] == 1 and event["b"] == [2]


def test_split_gives_back_the_payload_and_the_invocation():
    payload, inv = split_worker_event(json.loads(json.dumps(worker_event(task()))))
    assert payload == {"a": 1, "b": [2]}
    assert inv == Invocation("t-1", "w", 2, "tok", "j-1", 60.0)


def test_split_without_envelope_is_a_plain_lambda_call():
    assert split_worker_event({"numbers": [1, 2]}) == ({"numbers": [1, 2]}, None)


@pytest.mark.parametrize(("event", "field"), [
    (None, "event"),
    ([1], "event"),
    ({ENVELOPE: "x", "task_id": "t"}, ENVELOPE),
    ({ENVELOPE: {"labourer_id": "w", "attempt": 1, "token": "t"}}, "task_id"),
    ({"task_id": "t", ENVELOPE: {"attempt": 1, "token": "t"}}, "labourer_id"),
    ({"task_id": "t", ENVELOPE: {"labourer_id": "w", "attempt": "1", "token": "t"}}, "attempt"),
    ({"task_id": "t", ENVELOPE: {"labourer_id": "w", "attempt": 1}}, "token"),
    ({"task_id": "t", ENVELOPE: {"labourer_id": "w", "attempt": 1, "token": "t", "shadowed": [1]}},
     f"{ENVELOPE}.shadowed"),
    ({"task_id": "t", ENVELOPE: {"labourer_id": "w", "attempt": 1, "token": "t", "shadowed": {"x": 1}}},
     f"{ENVELOPE}.shadowed"),
])
def test_split_refuses_a_broken_envelope(event, field):
    with pytest.raises(InvalidEvent) as info:
        split_worker_event(event)
    assert info.value.field == field


# -- report events -------------------------------------------------------------------------------
def test_completion_report_round_trips():
    report = Report(Action.COMPLETED, INV, result={"rows-processed": 3}, stats={"a.b": 1})
    event = report.to_event()
    assert event == base(result={"rows-processed": 3}, stats={"a.b": 1})
    assert parse_report(json.dumps(event)) == report


def test_failure_report_round_trips_and_defaults_its_type():
    report = Report(Action.FAILED, INV, error_type="KeyError", error_message="m", traceback="tb")
    assert parse_report(report.to_event()) == report
    assert parse_report(base("mark_task_as_failed")).error_type == "Error"


def test_heartbeat_carries_only_the_proof():
    assert Report(Action.HEARTBEAT, INV).to_event() == base("heartbeat")
    assert parse_report(base("heartbeat")).action is Action.HEARTBEAT


def test_long_error_texts_are_cut_to_the_limit():
    report = parse_report(base("mark_task_as_failed", error_message="m" * 9000, traceback="t" * 9000))
    assert len(report.error_message) == MAX_ERROR_TEXT and len(report.traceback) == MAX_ERROR_TEXT


def test_a_result_that_is_not_a_map_is_wrapped():
    assert parse_report(base(result=[1, 2])).result == {"value": [1, 2]}
    assert parse_report(base(result=None)).result is None


def test_result_size_limit_is_inclusive_of_the_limit():
    filler = "x" * (MAX_REPORT_BYTES - len(json.dumps({"k": ""})))
    assert parse_report(base(result={"k": filler})).result == {"k": filler}
    with pytest.raises(InvalidEvent) as info:
        parse_report(base(result={"k": filler + "x"}))
    assert info.value.field == "result"


@pytest.mark.parametrize(("event", "field"), [
    (None, "event"), (3, "event"), ("[}", "event"), ([base()], "event"),
    (base(action=None), "action"), (base(action="complete"), "action"),
    ({**base(), "extra": 1}, "extra"), (base(traceback="x"), "traceback"),
    (base(task_id=None), "task_id"), (base(task_id="x" * 257), "task_id"),
    (base(labourer_id=7), "labourer_id"), (base(attempt=-1), "attempt"),
    (base(attempt=False), "attempt"), (base(token=""), "token"),
    (base(stats={"x": {1, 2}}), "stats"), (base(result={"x": float("inf")}), "result"),
    (base("mark_task_as_failed", error_type=["E"]), "error_type"),
    (base("heartbeat", stats={}), "stats"),
])
def test_garbage_reports_name_the_field(event, field):
    with pytest.raises(InvalidEvent) as info:
        parse_report(event)
    assert info.value.field == field
    assert field in str(info.value)


texts = st.text(min_size=1, max_size=40)
maps = st.dictionaries(st.text(min_size=1, max_size=10), st.one_of(st.integers(-10**37, 10**37), st.text(max_size=10), st.booleans(),
                                                      st.none()), max_size=5)


@given(task_id=texts, labourer_id=texts, attempt=st.integers(1, 10_000),
       token=st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40),
       result=st.none() | maps, stats=st.none() | maps)
def test_any_valid_completion_survives_the_wire(task_id, labourer_id, attempt, token, result, stats):
    report = Report(Action.COMPLETED, Invocation(task_id, labourer_id, attempt, token), result=result,
                    stats=stats)
    assert parse_report(json.dumps(report.to_event())) == report


@given(payload=st.dictionaries(st.sampled_from(SOSW07_EVENT_FIELDS) | st.text(max_size=10).filter(lambda k: k != ENVELOPE),
                               st.integers() | st.text(max_size=10), max_size=5),
       attempt=st.integers(1, 100))
def test_any_worker_event_splits_back(payload, attempt):
    t = task(payload=payload, attempts=attempt)
    got_payload, inv = split_worker_event(json.loads(json.dumps(worker_event(t))))
    assert got_payload == payload and inv.attempt == attempt and inv.token == t.token


# -- sosw 0.7 reports ----------------------------------------------------------------------------
def sosw07(action: str = "mark_task_as_completed", **fields) -> dict:
    return {"action": action, "task_id": "t-1", **fields}


def test_a_report_without_proof_is_a_sosw07_report():
    event = sosw07(stats={"processor_calls": 1}, result={"rows": 3})
    assert read_report(json.dumps(event)) == Sosw07Report(Action.COMPLETED, "t-1", result={"rows": 3},
                                                          stats={"processor_calls": 1})
    assert read_report(sosw07("mark_task_as_failed")) == Sosw07Report(Action.FAILED, "t-1")


def test_a_report_with_any_proof_field_is_sosw_core_s_and_names_what_is_missing():
    assert isinstance(read_report(base()), Report)
    for present in ("labourer_id", "attempt", "token"):
        with pytest.raises(InvalidEvent) as info:
            read_report({k: v for k, v in base().items() if k in ("action", "task_id", present)})
        assert info.value.field in {"labourer_id", "attempt", "token"} - {present}


def test_sosw07_stats_and_result_may_be_json_text_as_sosw07_accepted():
    report = parse_sosw07_report(sosw07(stats='{"a": 1}', result="done"))
    assert (report.stats, report.result) == ({"a": 1}, {"value": "done"})


@pytest.mark.parametrize(("event", "field"), [
    (sosw07("heartbeat"), "action"), (sosw07("nope"), "action"), (sosw07(task_id=""), "task_id"),
    (sosw07(extra=1), "extra"), (sosw07(error_message="x"), "error_message"),
    (sosw07(stats="{not json"), "stats"), (sosw07(result={"x": float("nan")}), "result"),
    ({"action": "mark_task_as_completed"}, "task_id"),
])
def test_garbage_sosw07_reports_name_the_field(event, field):
    with pytest.raises(InvalidEvent) as info:
        read_report(event)
    assert info.value.field == field

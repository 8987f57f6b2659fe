"""The job envelope: forms of the event, lambda_name and ARNs, envelope keys, the canonical id."""

from __future__ import annotations

import json

import pytest

from sosw_core.domain.chunking import chunkable_attrs_for
from sosw_core.domain.job import (
    Job,
    PayloadStyle,
    canonical_job_id,
    function_name,
    job_from_stored,
    parse_job,
    stored_body,
)
from sosw_core.errors import InvalidJob

BODY = {"sections": {"a": None}, "isolate_sections": True}


@pytest.mark.parametrize("event", [
    {"lambda_name": "w", **BODY},
    json.dumps({"lambda_name": "w", **BODY}),
    json.dumps({"lambda_name": "w", **BODY}).encode(),
    {"job": {"lambda_name": "w", **BODY}},
    {"job": json.dumps({"lambda_name": "w", **BODY})},
    json.dumps({"job": json.dumps({"lambda_name": "w", **BODY})}),
    {"job": {"lambda_name": "w", **BODY}, "ignored": 1},  # sosw 0.7 ignored the wrapper's other keys
])
def test_event_forms(event):
    assert parse_job(event) == Job(labourer_id="w", body=BODY)


def test_a_job_key_is_always_the_wrapper():
    """sosw 0.7 always unwrapped ``job``: a ``lambda_name`` beside it was never read (it crashed)."""
    with pytest.raises(InvalidJob) as error:
        parse_job({"lambda_name": "w", "job": {"topics": {"a": None}}})
    assert error.value.path == "lambda_name" and "inside `job`" in error.value.rule
    with pytest.raises(InvalidJob, match="^job: is not valid JSON"):
        parse_job({"lambda_name": "w", "job": "nightly"})
    assert parse_job({"lambda_name": "x", "job": {"lambda_name": "w"}}).labourer_id == "w"


@pytest.mark.parametrize(("lambda_name", "labourer"), [
    ("worker", "worker"),
    ("my-worker_2.v1", "my-worker_2.v1"),
    ("arn:aws:lambda:eu-west-1:123456789012:function:worker", "worker"),
    ("arn:aws:lambda:eu-west-1:123456789012:function:worker:live", "worker"),
    ("arn:aws:lambda:us-west-2:000000000000:function:some_function:$LATEST", "some_function"),
    ("arn:aws:lambda:us-east-1:123456789012:function:w2:7", "w2"),
    ("arn:aws-cn:lambda:cn-north-1:123456789012:function:w3", "w3"),
])
def test_lambda_name_and_arns(lambda_name, labourer):
    assert function_name(lambda_name) == labourer
    assert parse_job({"lambda_name": lambda_name}).labourer_id == labourer


def test_envelope_keys_are_removed_and_returned_apart():
    """``lambda_name`` and sosw-core's own options leave the body; ``job_schema_name`` and a
    ``job_id`` of the job stay (sosw 0.7 passed them to the workers)."""
    job = parse_job({"lambda_name": "arn:aws:lambda:eu-west-1:123456789012:function:w:live",
                     "job_schema_name": "flat", "job_id": "free text", "x": 1,
                     "sosw_core": {"job_id": "nightly", "payload_style": "clean"}})
    assert job == Job(labourer_id="w", body={"job_schema_name": "flat", "job_id": "free text", "x": 1},
                      job_id="nightly", payload_style=PayloadStyle.CLEAN)
    assert job.job_schema_name == "flat"
    assert parse_job({"lambda_name": "w", "job_schema_name": ""}).job_schema_name is None  # sosw: default


def test_the_stored_body_keeps_the_jobs_own_payload_style():
    job = parse_job({"lambda_name": "w", "x": 1, "sosw_core": {"payload_style": "clean"}})
    assert stored_body(job) == {"x": 1, "sosw_core": {"payload_style": "clean"}}
    assert job_from_stored("w", "j", stored_body(job)) == Job("w", {"x": 1}, "j", PayloadStyle.CLEAN)
    assert job_from_stored("w", "j", {"x": 1}) == Job("w", {"x": 1}, "j", None)


def test_the_body_is_a_copy_of_the_event():
    event = {"lambda_name": "w", "sections": {"a": None}}
    job = parse_job(event)
    event["sections"]["b"] = None
    assert job.body == {"sections": {"a": None}}


@pytest.mark.parametrize(("event", "path"), [
    ({"a": 1}, "lambda_name"),
    ({"lambda_name": ""}, "lambda_name"),
    ({"lambda_name": None}, "lambda_name"),
    ({"lambda_name": 7}, "lambda_name"),
    ({"lambda_name": "has space"}, "lambda_name"),
    ({"lambda_name": "arn:aws:lambda:eu-west-1:123456789012:layer:x"}, "lambda_name"),
    ({"lambda_name": "arn:aws:sqs:eu-west-1:123456789012:queue"}, "lambda_name"),
    ("not json", "job"),
    ({"job": "{not json"}, "job"),
    ([1, 2], "job"),
    ("[1, 2]", "job"),
    (None, "job"),
    ({"job": [1]}, "job"),
    ({"lambda_name": "w", "job_schema_name": 3}, "job_schema_name"),
    ({"job": {"x": 1}, "lambda_name": "w"}, "lambda_name"),
    ({"lambda_name": "w", "sosw_core": "nightly"}, "sosw_core"),
    ({"lambda_name": "w", "sosw_core": {"jobid": "x"}}, "sosw_core.jobid"),
    ({"lambda_name": "w", "sosw_core": {"job_id": 4}}, "sosw_core.job_id"),
    ({"lambda_name": "w", "sosw_core": {"job_id": ""}}, "sosw_core.job_id"),
    ({"lambda_name": "w", "sosw_core": {"job_id": "#dispatch#w"}}, "sosw_core.job_id"),  # dispatch lease rows
    ({"lambda_name": "w", "sosw_core": {"payload_style": "sosw"}}, "sosw_core.payload_style"),
])
def test_bad_envelopes_name_the_field(event, path):
    with pytest.raises(InvalidJob) as error:
        parse_job(event)
    assert error.value.path == path
    assert str(error.value).startswith(f"{path}: ")


def test_canonical_job_id_is_stable_across_forms():
    ids = {canonical_job_id(event) for event in [
        {"lambda_name": "w", "b": 1, "a": {"y": [1, 2], "x": None}},
        '{"a": {"x": null, "y": [1, 2]}, "b": 1, "lambda_name": "w"}',
        {"job": {"a": {"x": None, "y": [1, 2]}, "lambda_name": "w", "b": 1}},
        {"lambda_name": "arn:aws:lambda:eu-west-1:123456789012:function:w:live", "b": 1,
         "a": {"y": [1, 2], "x": None}},
        {"lambda_name": "w", "b": 1, "a": {"y": [1, 2], "x": None}, "sosw_core": {"job_id": "ignored"}},
        parse_job({"lambda_name": "w", "b": 1, "a": {"y": [1, 2], "x": None}}),
    ]}
    assert len(ids) == 1
    (job_id,) = ids
    assert len(job_id) == 20 and all(c in "0123456789abcdef" for c in job_id)


def test_canonical_job_id_is_the_sha256_of_the_canonical_json():
    import hashlib
    expected = hashlib.sha256(b'{"a":1,"lambda_name":"w"}').hexdigest()[:20]
    assert canonical_job_id({"lambda_name": "w", "a": 1}) == expected


@pytest.mark.parametrize("other", [
    {"lambda_name": "w", "b": 2, "a": [1, 2]},
    {"lambda_name": "w", "b": 1, "a": [2, 1]},
    {"lambda_name": "w2", "b": 1, "a": [1, 2]},
    {"lambda_name": "w", "b": 1, "a": [1, 2], "job_schema_name": "flat"},
    {"lambda_name": "w", "b": "1", "a": [1, 2]},
    {"lambda_name": "w", "b": 1, "a": [1, 2], "job_id": "the user's data"},
    {"lambda_name": "w", "b": 1, "a": [1, 2], "sosw_core": {"payload_style": "clean"}},
])
def test_canonical_job_id_changes_with_any_value(other):
    assert canonical_job_id({"lambda_name": "w", "b": 1, "a": [1, 2]}) != canonical_job_id(other)


def test_canonical_job_id_of_a_job_that_is_not_json():
    with pytest.raises(InvalidJob, match="^job: is not JSON-serialisable"):
        canonical_job_id(Job("w", {"when": object()}))


def test_variants():
    variants = {"default": ["section", "store"], "flat": ("item",),
                "sosw07": {"chunkable_attrs": [("region", {}), ("shop", {})]}}
    assert chunkable_attrs_for(parse_job({"lambda_name": "w"}), variants) == ("section", "store")
    assert chunkable_attrs_for(parse_job({"lambda_name": "w", "job_schema_name": "flat"}), variants) == ("item",)
    assert chunkable_attrs_for(parse_job({"lambda_name": "w", "job_schema_name": "sosw07"}), variants) \
        == ("region", "shop")
    assert chunkable_attrs_for(parse_job({"lambda_name": "w"}), {}) == ()
    assert chunkable_attrs_for(parse_job({"lambda_name": "w"}), (("default", ("x",)),)) == ("x",)
    with pytest.raises(InvalidJob) as error:
        chunkable_attrs_for(parse_job({"lambda_name": "w", "job_schema_name": "nope"}), variants)
    assert error.value.path == "job_schema_name" and "default, flat, sosw07" in error.value.rule

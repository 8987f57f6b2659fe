"""The job format's vectors (shared/spec/job-format.md) and our edge cases."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import date

import pytest

from sosw_core.errors import InvalidJob
from sosw_core.scheduler import (
    PeriodRegistry,
    canonical_job_id,
    default_periods,
    iter_task_payloads,
    parse_job,
)

ATTRS = ("section", "store", "product")
TODAY = date(2019, 1, 31)

P = {"sections": {
    "section_funerals": {"stores": {"store_flowers": None, "store_caskets": None}},
    "section_weddings": {"stores": {"store_flowers": None, "store_limos": None,
                                    "store_music": {"products": ["product_march", "product_chorus", 740,
                                                                 "product,4", "product 5"]}}},
    "section_conversions": {"stores": {"store_training": {"products": {"product_history": None,
                                                                       "product_prayer": None}},
                                       "store_baptizing": None, "store_circumcision": None}},
    "section_gifts": None}}


def plan(event, attrs=ATTRS, today=TODAY, periods=None):
    job = parse_job(event)
    kwargs = {"periods": periods} if periods else {}
    return list(iter_task_payloads(job, attrs, today, **kwargs))


def strip_flags(payload):
    return {k: v for k, v in payload.items()
            if not k.startswith("isolate_") and not (k.startswith("max_") and k.endswith("_per_batch"))}


def multiset(payloads):
    return Counter(json.dumps(strip_flags(p), sort_keys=True) for p in payloads)


def job(body, **extra):
    return {"lambda_name": "w", **copy.deepcopy(body), **extra}


def test_vector_1_isolate_products_inside_two_stores():
    body = copy.deepcopy(P)
    body["sections"]["section_weddings"]["stores"]["store_music"]["isolate_products"] = True
    body["sections"]["section_conversions"]["stores"]["store_training"]["isolate_products"] = True
    tasks = plan(job(body))
    assert len(tasks) == 13
    by_section = Counter(t["sections"][0] for t in tasks)
    assert by_section == {"section_funerals": 1, "section_weddings": 7, "section_conversions": 4,
                          "section_gifts": 1}
    assert {"sections": ["section_funerals"], "stores": ["store_flowers", "store_caskets"]} in tasks
    assert {"sections": ["section_gifts"]} in tasks
    music = [strip_flags(t) for t in tasks if t.get("stores") == ["store_music"]]
    assert sorted(json.dumps(t["products"]) for t in music) == sorted(
        json.dumps([p]) for p in ["product_march", "product_chorus", 740, "product,4", "product 5"])
    assert {"sections": ["section_conversions"], "stores": ["store_baptizing"]} in tasks


def test_vector_2_max_products_per_batch():
    body = copy.deepcopy(P)
    body["sections"]["section_weddings"]["stores"]["store_music"]["max_products_per_batch"] = 2
    tasks = [strip_flags(t) for t in plan(job(body))]
    assert len(tasks) == 8
    batches = [t["products"] for t in tasks if t.get("stores") == ["store_music"]]
    assert sorted(map(json.dumps, batches)) == sorted(map(json.dumps, [
        ["product_march", "product_chorus"], [740, "product,4"], ["product 5"]]))
    conversions = [t for t in tasks if t["sections"] == ["section_conversions"]]
    assert conversions == [{"sections": ["section_conversions"],
                            "stores": P["sections"]["section_conversions"]["stores"]}]


def test_vector_3_isolate_stores_at_the_root():
    tasks = [strip_flags(t) for t in plan(job(P, isolate_stores=True))]
    assert len(tasks) == 9  # 2 + 3 + 3 stores, plus gifts
    assert Counter(t["sections"][0] for t in tasks) == {
        "section_funerals": 2, "section_weddings": 3, "section_conversions": 3, "section_gifts": 1}
    (music,) = [t for t in tasks if t.get("stores") == ["store_music"]]
    assert music["products"] == ["product_march", "product_chorus", 740, "product,4", "product 5"]


def test_vector_4_periods_isolated_days_and_sections():
    event = {"lambda_name": "some_lambda", "period": "last_2_days", "isolate_days": True,
             "isolate_sections": "True",
             "sections": {"111": {"all_campaigns": True}, "222": {"all_campaigns": True},
                          "333": {"isolate_stores": True, "all_campaigns": False,
                                  "stores": {"333-111": None, "333-222": None, "333-333": {"keep_me": 7}}}}}
    tasks = [strip_flags(t) for t in plan(event)]
    expected = []
    for day in ("2019-01-29", "2019-01-30"):
        expected += [{"date_list": [day], "sections": ["111"], "all_campaigns": True},
                     {"date_list": [day], "sections": ["222"], "all_campaigns": True},
                     {"date_list": [day], "sections": ["333"], "stores": ["333-111"], "all_campaigns": False},
                     {"date_list": [day], "sections": ["333"], "stores": ["333-222"], "all_campaigns": False},
                     {"date_list": [day], "sections": ["333"], "stores": ["333-333"], "all_campaigns": False,
                      "keep_me": 7}]
    assert multiset(tasks) == multiset(expected)
    assert all("period" not in t and "isolate_days" not in t for t in tasks)


def test_vector_5_no_chunking_is_one_task():
    assert plan({"lambda_name": "w", "some_payload": "foo"}) == [{"some_payload": "foo"}]


def test_unchunked_job_passes_levels_through():
    tasks = plan(job(P))
    assert len(tasks) == 1
    assert tasks[0]["sections"] == P["sections"]  # raw: it holds data below


def test_dict_of_nulls_flattens_to_its_keys_when_not_chunked():
    assert plan(job({"sections": {"a": None, "b": None}})) == [{"sections": ["a", "b"]}]


def test_singular_and_plural_names_and_single_scalars():
    tasks = plan(job({"section": "s1", "isolate_sections": True}))
    assert tasks == [{"sections": ["s1"]}]  # flags steer chunking; they are not payload
    tasks = plan(job({"sections": {"s1": {"store": 7, "isolate_stores": True}}}))
    assert [strip_flags(t) for t in tasks] == [{"sections": ["s1"], "stores": [7]}]


def test_flat_lists_with_numbers_isolated_and_batched():
    tasks = [strip_flags(t) for t in plan(job({"products": [1, 2.5, "x"], "isolate_products": True}),
                                          attrs=("product",))]
    assert tasks == [{"products": [1]}, {"products": [2.5]}, {"products": ["x"]}]
    tasks = [strip_flags(t) for t in plan(job({"products": list(range(5)), "max_products_per_batch": 2}),
                                          attrs=("product",))]
    assert [t["products"] for t in tasks] == [[0, 1], [2, 3], [4]]


def test_root_flags_apply_below_and_custom_keys_travel():
    body = {"owner": "ops", "isolate_products": True,
            "sections": {"s": {"region": "eu", "stores": {"st": {"products": ["a", "b"], "note": 1}}}}}
    tasks = [strip_flags(t) for t in plan(job(body))]
    assert tasks == [
        {"owner": "ops", "sections": ["s"], "region": "eu", "stores": ["st"], "note": 1, "products": ["a"]},
        {"owner": "ops", "sections": ["s"], "region": "eu", "stores": ["st"], "note": 1, "products": ["b"]}]


def test_empty_job_and_no_chunkable_attrs_are_one_task():
    assert plan({"lambda_name": "w"}) == [{}]
    assert plan(job(P), attrs=()) == [copy.deepcopy(P)]


def test_period_is_always_expanded_even_without_chunking():
    tasks = plan({"lambda_name": "w", "period": "yesterday", "x": 1})
    assert tasks == [{"x": 1, "date_list": ["2019-01-30"]}]
    tasks = plan({"lambda_name": "w", "period": "last_3_days"})
    assert tasks == [{"date_list": ["2019-01-28", "2019-01-29", "2019-01-30"]}]


@pytest.mark.parametrize("event", [
    {"lambda_name": "w", "isolate_sections": True, "sections": {"s1": "not-an-object"}},
    {"lambda_name": "w", "isolate_sections": True, "sections": [{"a": 1}, {"b": 2}]},
    {"lambda_name": "w", "isolate_stores": True, "sections": {"s1": {"stores": [["nested"]]}}},
    {"lambda_name": "w", "max_sections_per_batch": 0, "sections": ["a"]},
    {"lambda_name": "w", "period": "todayX"},
])
def test_invalid_jobs_name_the_path(event):
    with pytest.raises(InvalidJob) as error:
        plan(event)
    assert error.value.path and error.value.rule


def test_error_paths_are_precise():
    with pytest.raises(InvalidJob, match=r"^sections\.s1\.stores: "):
        plan({"lambda_name": "w", "isolate_stores": True, "sections": {"s1": {"stores": [{"x": 1}, 2]}}})
    with pytest.raises(InvalidJob, match=r"^sections\.s1: must be an object or null"):
        plan({"lambda_name": "w", "isolate_sections": True, "sections": {"s1": 5}})


def test_nothing_is_yielded_before_the_whole_job_is_valid():
    event = {"lambda_name": "w", "isolate_sections": True, "sections": {"a": None, "b": 3}}
    with pytest.raises(InvalidJob):
        iter_task_payloads(parse_job(event), ATTRS, TODAY)  # raises at the call, not mid-iteration


@pytest.mark.parametrize(("event", "labourer"), [
    ('{"lambda_name": "w", "a": 1}', "w"),
    ({"job": {"lambda_name": "arn:aws:lambda:eu-west-1:123456789012:function:worker:live"}}, "worker"),
    ({"job": '{"lambda_name": "arn:aws:lambda:us-east-1:1:function:w2"}'}, "w2"),
])
def test_envelope_forms(event, labourer):
    assert parse_job(event).labourer_id == labourer


@pytest.mark.parametrize(("event", "field"), [
    ({"a": 1}, "lambda_name"), ({"lambda_name": ""}, "lambda_name"), ("not json", "job"),
    ([1, 2], "job"), ({"lambda_name": "w", "job_schema_name": 3}, "job_schema_name"),
    ({"lambda_name": "w", "job_id": 4}, "job_id"), ({"lambda_name": "has space"}, "lambda_name"),
])
def test_bad_envelopes(event, field):
    with pytest.raises(InvalidJob) as error:
        parse_job(event)
    assert error.value.path == field


def test_envelope_keys_never_reach_payloads_and_job_id_is_canonical():
    a = parse_job({"lambda_name": "w", "job_schema_name": "default", "b": 1, "a": [1, 2]})
    b = parse_job('{"a": [1, 2], "b": 1, "job_schema_name": "default", "lambda_name": "w"}')
    assert canonical_job_id(a) == canonical_job_id(b)
    assert canonical_job_id(a) != canonical_job_id(parse_job({"lambda_name": "w", "b": 2, "a": [1, 2]}))
    assert list(iter_task_payloads(a, ATTRS, TODAY)) == [{"b": 1, "a": [1, 2]}]


@pytest.mark.parametrize(("period", "today", "dates"), [
    ("today", date(2019, 1, 31), ["2019-01-31"]),
    ("yesterday", date(2019, 3, 1), ["2019-02-28"]),
    ("last_2_days", date(2019, 1, 31), ["2019-01-29", "2019-01-30"]),
    ("3_days_back", date(2019, 1, 31), ["2019-01-28"]),
    ("previous_2_days", date(2019, 4, 30), ["2019-04-26", "2019-04-27"]),
    ("last_week", date(2019, 1, 31), [f"2019-01-{d}" for d in range(20, 27)]),  # a Thursday
    ("last_week", date(2019, 1, 27), [f"2019-01-{d}" for d in range(20, 27)]),  # a Sunday
    ("last_week", date(2019, 1, 26), [f"2019-01-{d:02d}" for d in range(13, 20)]),  # a Saturday
])
def test_periods(period, today, dates):
    assert default_periods().expand(period, today) == dates


def test_custom_period_patterns_and_fullmatch():
    registry = default_periods()
    registry.register(r"quarter_([1-4])", lambda m, t: [date(t.year, 3 * int(m[1]) - 2, 1)])
    tasks = plan({"lambda_name": "w", "period": "quarter_2"}, periods=registry)
    assert tasks == [{"date_list": ["2019-04-01"]}]
    for bad in ("todayX", "xtoday", "last_0_days", "last_week_1"):
        with pytest.raises(InvalidJob, match="period"):
            PeriodRegistry.expand(default_periods(), bad, TODAY)


def test_a_large_job_is_generated_lazily():
    event = {"lambda_name": "w", "isolate_products": True,
             "products": [f"p{i}" for i in range(100_000)]}
    stream = iter_task_payloads(parse_job(event), ("product",), TODAY)
    assert next(stream) == {"products": ["p0"]}
    assert sum(1 for _ in stream) == 99_999

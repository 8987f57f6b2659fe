"""Chunking: the job format's vectors (shared/spec/job-format.md), sosw 0.7.51 vectors, edge cases.

Payloads are compared as multisets of sorted JSON dumps with the ``isolate_*`` and
``max_*_per_batch`` keys stripped: those flags travel into payloads as in sosw 0.7, and the
compatibility contract ignores them.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sosw_core.domain.chunking import iter_task_payloads, plan, validate
from sosw_core.domain.job import Job, parse_job
from sosw_core.domain.periods import default_periods
from sosw_core.errors import ConfigError, InvalidJob

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


def payloads(event, attrs=ATTRS, today=TODAY, periods=None):
    kwargs = {"periods": periods} if periods is not None else {}
    return list(iter_task_payloads(parse_job(event), attrs, today, **kwargs))


def strip_flags(payload):
    return {k: v for k, v in payload.items()
            if not k.startswith("isolate_") and not (k.startswith("max_") and k.endswith("_per_batch"))}


def multiset(tasks):
    return Counter(json.dumps(strip_flags(task), sort_keys=True) for task in tasks)


def assert_payloads(event, expected, attrs=ATTRS, today=TODAY):
    tasks = payloads(event, attrs, today)
    assert multiset(tasks) == multiset(expected)


def p_with(**edits):
    """The base job P with ``{"store path": {key: value}}`` edits, as an event."""
    body = copy.deepcopy(P)
    for where, extra in edits.items():
        section, store = where.split("__")
        body["sections"][section]["stores"][store].update(extra)
    return {"lambda_name": "w", **body}


# ---- the spec's vectors ---------------------------------------------------------------------

def test_vector_1_isolate_products_inside_two_stores():
    event = p_with(section_weddings__store_music={"isolate_products": True},
                   section_conversions__store_training={"isolate_products": True})
    music = [{"sections": ["section_weddings"], "stores": ["store_music"], "products": [product]}
             for product in ("product_march", "product_chorus", 740, "product,4", "product 5")]
    assert_payloads(event, [
        {"sections": ["section_funerals"], "stores": ["store_flowers", "store_caskets"]},
        {"sections": ["section_weddings"], "stores": ["store_flowers"]},
        {"sections": ["section_weddings"], "stores": ["store_limos"]},
        *music,
        {"sections": ["section_conversions"], "stores": ["store_training"], "products": ["product_history"]},
        {"sections": ["section_conversions"], "stores": ["store_training"], "products": ["product_prayer"]},
        {"sections": ["section_conversions"], "stores": ["store_baptizing"]},
        {"sections": ["section_conversions"], "stores": ["store_circumcision"]},
        {"sections": ["section_gifts"]}])


def test_vector_2_max_products_per_batch():
    event = p_with(section_weddings__store_music={"max_products_per_batch": 2})
    music = [{"sections": ["section_weddings"], "stores": ["store_music"], "products": batch}
             for batch in (["product_march", "product_chorus"], [740, "product,4"], ["product 5"])]
    assert_payloads(event, [
        {"sections": ["section_funerals"], "stores": ["store_flowers", "store_caskets"]},
        {"sections": ["section_weddings"], "stores": ["store_flowers"]},
        {"sections": ["section_weddings"], "stores": ["store_limos"]},
        *music,
        {"sections": ["section_conversions"], "stores": P["sections"]["section_conversions"]["stores"]},
        {"sections": ["section_gifts"]}])


def test_vector_3_isolate_stores_at_the_root():
    event = {"lambda_name": "w", "isolate_stores": True, **copy.deepcopy(P)}
    assert_payloads(event, [
        {"sections": ["section_funerals"], "stores": ["store_flowers"]},
        {"sections": ["section_funerals"], "stores": ["store_caskets"]},
        {"sections": ["section_weddings"], "stores": ["store_flowers"]},
        {"sections": ["section_weddings"], "stores": ["store_limos"]},
        {"sections": ["section_weddings"], "stores": ["store_music"],
         "products": ["product_march", "product_chorus", 740, "product,4", "product 5"]},
        {"sections": ["section_conversions"], "stores": ["store_training"],
         "products": ["product_history", "product_prayer"]},
        {"sections": ["section_conversions"], "stores": ["store_baptizing"]},
        {"sections": ["section_conversions"], "stores": ["store_circumcision"]},
        {"sections": ["section_gifts"]}])


VECTOR_4 = {"lambda_name": "some_lambda", "period": "last_2_days", "isolate_days": True,
            "isolate_sections": "True",
            "sections": {"111": {"all_campaigns": True}, "222": {"all_campaigns": True},
                         "333": {"isolate_stores": True, "all_campaigns": False,
                                 "stores": {"333-111": None, "333-222": None, "333-333": {"keep_me": 7}}}}}


def test_vector_4_periods_isolated_days_and_sections():
    expected = []
    for day in ("2019-01-29", "2019-01-30"):
        expected += [
            {"date_list": [day], "sections": ["111"], "all_campaigns": True},
            {"date_list": [day], "sections": ["222"], "all_campaigns": True},
            {"date_list": [day], "sections": ["333"], "all_campaigns": False, "stores": ["333-111"]},
            {"date_list": [day], "sections": ["333"], "all_campaigns": False, "stores": ["333-222"]},
            {"date_list": [day], "sections": ["333"], "all_campaigns": False, "stores": ["333-333"],
             "keep_me": 7}]
    assert_payloads(VECTOR_4, expected)
    assert all("period" not in task and "isolate_days" not in task for task in payloads(VECTOR_4))


def test_vector_5_no_chunking_is_one_task():
    assert payloads({"lambda_name": "w", "some_payload": "foo"}) == [{"some_payload": "foo"}]


# ---- vectors recorded from sosw 0.7.51 ------------------------------------------------------
# Recorded from sosw 0.7.51 (Scheduler.needs_chunking / construct_job_data, as parse_job_to_file
# calls them) as of 2019-01-31, with the isolate_*/max_*_per_batch keys stripped from its
# payloads. sosw is not needed to run these tests. Jobs where sosw 0.7.51 crashes or is buggy
# are in test_where_we_differ_from_sosw_07 below, with our behaviour.

SOSW07_VECTORS = [
    ('flat_list_isolated', ('product',),
     {'lambda_name': 'w', 'products': ['a', 1, 2.5], 'isolate_products': True},
     [{'products': ['a']}, {'products': [1]}, {'products': [2.5]}]),
    ('flat_list_batched', ('product',),
     {'lambda_name': 'w', 'products': ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'max_products_per_batch': 3},
     [{'products': ['a', 'b', 'c']}, {'products': ['d', 'e', 'f']}, {'products': ['g']}]),
    ('batch_size_as_string', ('product',),
     {'lambda_name': 'w', 'products': ['a', 'b', 'c', 'd', 'e'], 'max_products_per_batch': '2'},
     [{'products': ['a', 'b']}, {'products': ['c', 'd']}, {'products': ['e']}]),
    ('plural_scalar_isolated', ('section', 'store', 'product'),
     {'lambda_name': 'w', 'sections': 's1', 'isolate_sections': True},
     [{'sections': ['s1']}]),
    ('number_scalar_isolated', ('store',),
     {'lambda_name': 'w', 'stores': 7, 'isolate_stores': True},
     [{'stores': [7]}]),
    ('dict_of_nulls_isolated', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'sections': {'a': None, 'b': None, 'c': None},
      'isolate_sections': True,
      'owner': 'ops'},
     [{'owner': 'ops', 'sections': ['a']},
      {'owner': 'ops', 'sections': ['b']},
      {'owner': 'ops', 'sections': ['c']}]),
    ('dict_of_nulls_batched', ('section', 'store', 'product'),
     {'lambda_name': 'w', 'sections': {'a': None, 'b': None, 'c': None}, 'max_sections_per_batch': 2},
     [{'sections': ['a', 'b']}, {'sections': ['c']}]),
    ('unchunked_root_is_raw', ('section', 'store', 'product'),
     {'lambda_name': 'w', 'sections': {'a': None, 'b': None}, 'x': 1},
     [{'sections': {'a': None, 'b': None}, 'x': 1}]),
    ('root_flag_deep_custom_keys', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'owner': 'ops',
      'isolate_products': True,
      'sections': {'s': {'region': 'eu',
                         'stores': {'st': {'products': ['a', 'b'], 'note': 1}, 'st2': None}}}},
     [{'owner': 'ops',
       'sections': ['s'],
       'region': 'eu',
       'stores': ['st'],
       'note': 1,
       'products': ['a']},
      {'owner': 'ops',
       'sections': ['s'],
       'region': 'eu',
       'stores': ['st'],
       'note': 1,
       'products': ['b']},
      {'owner': 'ops', 'sections': ['s'], 'region': 'eu', 'stores': ['st2']}]),
    ('lower_custom_key_wins', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'region': 'us',
      'isolate_sections': True,
      'sections': {'s1': {'region': 'eu'}, 's2': None}},
     [{'region': 'eu', 'sections': ['s1']}, {'region': 'us', 'sections': ['s2']}]),
    ('nested_one_key_dict_wrapped', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'isolate_sections': True,
      'sections': {'s1': {'stores': {'st': {'products': ['a']}}},
                   's2': {'stores': {'x': {'k': 1}, 'y': {'k': 2}}}}},
     [{'sections': ['s1'], 'stores': [{'st': {'products': ['a']}}]},
      {'sections': ['s2'], 'stores': {'x': {'k': 1}, 'y': {'k': 2}}}]),
    ('nested_max_overrides_root', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'max_products_per_batch': 2,
      'sections': {'s1': {'stores': {'st1': {'products': ['a', 'b', 'c', 'd', 'e']},
                                     'st2': {'products': ['a', 'b', 'c', 'd', 'e'],
                                             'max_products_per_batch': 4}}}}},
     [{'sections': ['s1'], 'stores': ['st2'], 'products': ['a', 'b', 'c', 'd']},
      {'sections': ['s1'], 'stores': ['st1'], 'products': ['a', 'b']},
      {'sections': ['s1'], 'stores': ['st1'], 'products': ['c', 'd']},
      {'sections': ['s1'], 'stores': ['st1'], 'products': ['e']},
      {'sections': ['s1'], 'stores': ['st2'], 'products': ['e']}]),
    ('last_level_subdata_merges', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'isolate_products': True,
      'sections': {'s': {'stores': {'st': {'products': {'p1': {'price': 3}, 'p2': None}}}}}},
     [{'sections': ['s'], 'stores': ['st'], 'products': ['p1'], 'price': 3},
      {'sections': ['s'], 'stores': ['st'], 'products': ['p2']}]),
    ('mixed_dict_isolated_deep', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'sections': {'a': None,
                   'b': {'stores': {'x': None, 'y': {'isolate_products': True, 'products': [1, 2]}}}}},
     [{'sections': ['b'], 'stores': ['y'], 'products': [1]},
      {'sections': ['b'], 'stores': ['y'], 'products': [2]},
      {'sections': ['a']},
      {'sections': ['b'], 'stores': ['x']}]),
    ('truthy_flag_values', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'isolate_sections': 1,
      'isolate_stores': 'yes',
      'sections': {'a': {'stores': ['x', 'y']}, 'b': {'stores': {'z': None}}}},
     [{'sections': ['a'], 'stores': ['x']},
      {'sections': ['a'], 'stores': ['y']},
      {'sections': ['b'], 'stores': ['z']}]),
    ('root_false_overrides_deep_true', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'isolate_products': False,
      'sections': {'s': {'stores': {'st': {'isolate_products': True, 'products': ['a', 'b']}}}}},
     [{'sections': {'s': {'stores': {'st': {'isolate_products': True, 'products': ['a', 'b']}}}}}]),
    ('period_with_chunking_no_isolate_days', ('section', 'store', 'product'),
     {'lambda_name': 'w', 'period': 'last_3_days', 'isolate_sections': True, 'sections': ['a', 'b']},
     [{'date_list': ['2019-01-28', '2019-01-29', '2019-01-30'], 'sections': ['a']},
      {'date_list': ['2019-01-28', '2019-01-29', '2019-01-30'], 'sections': ['b']}]),
    ('period_yesterday_isolated_days', ('product',),
     {'lambda_name': 'w',
      'period': 'yesterday',
      'isolate_days': True,
      'isolate_products': True,
      'products': ['a', 'b']},
     [{'date_list': ['2019-01-30'], 'products': ['a']}, {'date_list': ['2019-01-30'], 'products': ['b']}]),
    ('previous_days_and_days_back', ('product',),
     {'lambda_name': 'w',
      'period': 'previous_2_days',
      'isolate_days': 1,
      'products': ['a'],
      'max_products_per_batch': 5},
     [{'date_list': ['2019-01-27'], 'products': ['a']}, {'date_list': ['2019-01-28'], 'products': ['a']}]),
    ('x_days_back', ('product',),
     {'lambda_name': 'w', 'period': '3_days_back', 'products': ['a', 'b'], 'isolate_products': True},
     [{'date_list': ['2019-01-28'], 'products': ['a']}, {'date_list': ['2019-01-28'], 'products': ['b']}]),
    ('last_week_thursday', ('product',),
     {'lambda_name': 'w',
      'period': 'last_week',
      'isolate_days': True,
      'products': ['a'],
      'isolate_products': True},
     [{'date_list': ['2019-01-20'], 'products': ['a']},
      {'date_list': ['2019-01-21'], 'products': ['a']},
      {'date_list': ['2019-01-22'], 'products': ['a']},
      {'date_list': ['2019-01-23'], 'products': ['a']},
      {'date_list': ['2019-01-24'], 'products': ['a']},
      {'date_list': ['2019-01-25'], 'products': ['a']},
      {'date_list': ['2019-01-26'], 'products': ['a']}]),
    ('arn_lambda_name', ('section', 'store', 'product'),
     {'lambda_name': 'arn:aws:lambda:us-west-2:000000000000:function:w:live',
      'isolate_sections': True,
      'sections': {'a': None}},
     [{'sections': ['a']}]),
    ('job_wrapper_json_string', ('section', 'store', 'product'),
     {'job': '{"lambda_name": "w", "isolate_sections": true, "sections": ["a", "b"]}'},
     [{'sections': ['a']}, {'sections': ['b']}]),
    ('empty_values_dropped', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'isolate_sections': True,
      'sections': {'s1': {'stores': [], 'k': 1}, 's2': {'stores': None}}},
     [{'sections': ['s1'], 'k': 1}, {'sections': ['s2']}]),
    ('zero_as_value', ('store',),
     {'lambda_name': 'w', 'stores': [0, 1], 'isolate_stores': True},
     [{'stores': [0]}, {'stores': [1]}]),
    ('two_levels_all_flags', ('region', 'shop'),
     {'lambda_name': 'w',
      'isolate_regions': True,
      'isolate_shops': True,
      'max_shops_per_batch': 2,
      'regions': {'eu': {'shops': ['a', 'b', 'c']}, 'us': {'shops': {'d': None}}, 'asia': None}},
     [{'regions': ['asia']},
      {'regions': ['eu'], 'shops': ['a', 'b']},
      {'regions': ['eu'], 'shops': ['c']},
      {'regions': ['us'], 'shops': ['d']}]),
    ('two_levels_nested_scalar_raw', ('section', 'store'),
     {'lambda_name': 'w',
      'isolate_sections': True,
      'sections': {'s1': {'store': 'only'},
                   's2': {'stores': ['a', 'b']},
                   's3': {'stores': {'x': {'deep': 1}, 'y': None}}}},
     [{'sections': ['s1'], 'store': 'only'},
      {'sections': ['s2'], 'stores': ['a', 'b']},
      {'sections': ['s3'], 'stores': {'x': {'deep': 1}, 'y': None}}]),
    ('two_levels_one_key_dict', ('section', 'store'),
     {'lambda_name': 'w', 'isolate_sections': True, 'sections': {'s1': {'stores': {'x': {'deep': 1}}}}},
     [{'sections': ['s1'], 'stores': [{'x': {'deep': 1}}]}]),
    ('job_wrapper_dict', ('section', 'store'),
     {'job': {'lambda_name': 'w', 'isolate_stores': True, 'sections': {'s': {'stores': ['a', 'b']}}}},
     [{'sections': ['s'], 'stores': ['a']}, {'sections': ['s'], 'stores': ['b']}]),
    ('isolate_days_without_period', ('product',),
     {'lambda_name': 'w', 'isolate_days': True, 'isolate_products': True, 'products': ['a', 'b']},
     [{'products': ['a']}, {'products': ['b']}]),
    ('max_batch_bigger_than_list', ('section', 'store'),
     {'lambda_name': 'w',
      'sections': {'s1': {'stores': ['a', 'b'], 'max_stores_per_batch': 10}, 's2': {'stores': ['c']}}},
     [{'sections': ['s1'], 'stores': ['a', 'b']}, {'sections': ['s2'], 'stores': ['c']}]),
    ('root_batch_applies_everywhere', ('section', 'store'),
     {'lambda_name': 'w',
      'max_stores_per_batch': 2,
      'campaign': 'c1',
      'sections': {'s1': {'stores': ['a', 'b', 'c']},
                   's2': {'stores': {'d': None, 'e': None}},
                   's3': None}},
     [{'campaign': 'c1', 'sections': ['s1'], 'stores': ['a', 'b']},
      {'campaign': 'c1', 'sections': ['s1'], 'stores': ['c']},
      {'campaign': 'c1', 'sections': ['s2'], 'stores': ['d', 'e']},
      {'campaign': 'c1', 'sections': ['s3']}]),
    ('deep_mixed_three_levels', ('section', 'store', 'product'),
     {'lambda_name': 'w',
      'tag': 't',
      'sections': {'s1': {'isolate_stores': True,
                          'stores': {'a': {'products': ['p1', 'p2']}, 'b': None}},
                   's2': {'stores': {'c': {'isolate_products': True,
                                           'products': {'p3': None, 'p4': {'size': 'xl'}}},
                                     'c2': {'products': ['p5']}}},
                   's3': {'stores': {'d': None, 'e': None}},
                   's4': None}},
     [{'tag': 't', 'sections': ['s1'], 'stores': ['a'], 'products': ['p1', 'p2']},
      {'tag': 't', 'sections': ['s2'], 'stores': ['c'], 'products': ['p3']},
      {'tag': 't', 'sections': ['s2'], 'stores': ['c'], 'products': ['p4'], 'size': 'xl'},
      {'tag': 't', 'sections': ['s2'], 'stores': ['c2'], 'products': ['p5']},
      {'tag': 't', 'sections': ['s1'], 'stores': ['b']},
      {'tag': 't', 'sections': ['s3'], 'stores': ['d', 'e']},
      {'tag': 't', 'sections': ['s4']}]),
]


@pytest.mark.parametrize(("attrs", "event", "expected"), [case[1:] for case in SOSW07_VECTORS],
                         ids=[case[0] for case in SOSW07_VECTORS])
def test_sosw07_vectors(attrs, event, expected):
    assert_payloads(event, expected, attrs)


def test_unchunked_job_is_passed_raw():
    """No level needs chunking: the job is one task, its values raw (sosw 0.7.51 agrees)."""
    assert payloads({"lambda_name": "w", **copy.deepcopy(P)}) == [P]


# ---- where we differ from sosw 0.7.51, on purpose --------------------------------------------
# (tests/differential runs these shapes through the real sosw 0.7.51 too)

@pytest.mark.parametrize(("attrs", "event", "expected"), [
    # sosw: every task twice, once with the raw singular key too (it reads `section` as both forms)
    (ATTRS, {"lambda_name": "w", "section": "s1", "isolate_sections": True}, [{"sections": ["s1"]}]),
    (ATTRS, {"lambda_name": "w", "sections": {"s": {"store": {"x": None, "y": None}, "isolate_stores": True}}},
     [{"sections": ["s"], "stores": ["x"]}, {"sections": ["s"], "stores": ["y"]}]),
    # sosw: with an empty chunkable_attrs every job crashed
    ((), {"lambda_name": "w", "sections": ["a"], "isolate_sections": True}, [{"sections": ["a"]}]),
    # sosw: custom keys of a subdata whose level became a list were dropped; they travel down
    (("section", "store"), {"lambda_name": "w", "isolate_sections": True, "sections": {
        "s1": {"stores": ["a", "b"], "region": "eu"}, "s2": {"stores": {"x": None}, "tier": 2}}},
     [{"sections": ["s1"], "stores": ["a", "b"], "region": "eu"}, {"sections": ["s2"], "stores": ["x"], "tier": 2}]),
    (ATTRS, {"lambda_name": "w", "isolate_stores": True, "sections": {"s": {"stores": {
        "st": {"products": ["a", "b"], "note": 1}, "st2": {"products": {"p": None}, "n": 2}}}}},
     [{"sections": ["s"], "stores": ["st"], "products": ["a", "b"], "note": 1},
      {"sections": ["s"], "stores": ["st2"], "products": ["p"], "n": 2}]),
])
def test_where_we_differ_from_sosw_07(attrs, event, expected):
    assert_payloads(event, expected, attrs)


@pytest.mark.parametrize(("attrs", "event", "expected"), [
    # These were our own "fixes" before sosw 0.7.51's payloads became the default: sosw's kept.
    # a value isolated from above with no values of its level: no task
    (ATTRS, {"lambda_name": "w", "isolate_stores": True, "sections": {
        "s1": {"note": 1}, "s2": {"stores": ["a"]}, "s3": None, "s4": {}}},
     [{"isolate_stores": True, "sections": ["s2"], "stores": ["a"]}, {"isolate_stores": True, "sections": ["s3"]}]),
    (ATTRS, {"lambda_name": "w", "isolate_sections": True, "k": 1}, []),
    # the value 0 is "no value"
    (("store",), {"lambda_name": "w", "stores": 0, "isolate_stores": True, "k": 1}, []),
    # max_<singular>_per_batch chunks, but only max_<plural>_per_batch sets the size
    (("product",), {"lambda_name": "w", "products": list("ab"), "max_product_per_batch": 2},
     [{"max_product_per_batch": 2, "products": ["a"]}, {"max_product_per_batch": 2, "products": ["b"]}]),
    # a period stays raw when the first level needs no chunking, job_schema_name and job_id travel
    (ATTRS, {"lambda_name": "w", "period": "today", "job_id": "mine", "x": 1},
     [{"period": "today", "job_id": "mine", "x": 1}]),
    (ATTRS, {"lambda_name": "w", "job_schema_name": "default", "isolate_sections": True, "sections": ["a"]},
     [{"job_schema_name": "default", "isolate_sections": True, "sections": ["a"]}]),
    # a `payload` key is merged into the payload (the task's other keys win)
    (ATTRS, {"lambda_name": "w", "payload": {"a": 1, "b": 2}, "b": 3}, [{"a": 1, "b": 3}]),
    (ATTRS, {"lambda_name": "w", "payload": '{"a": 1}'}, [{"a": 1}]),
    (ATTRS, {"lambda_name": "w", "payload": "text", "b": 3}, [{"payload": "text", "b": 3}]),
    # keys sosw generated for each task: a falsy value is dropped
    (ATTRS, {"lambda_name": "w", "attempts": 0, "task_id": "", "labourer_id": "w", "x": 1}, [{"x": 1}]),
])
def test_sosw_07_behaviours_kept(attrs, event, expected):
    assert payloads(event, attrs) == expected


def test_clean_payload_style():
    """Opt-in per job (``sosw_core.payload_style``) or per labourer (``style=``)."""
    event = {"lambda_name": "w", "job_schema_name": "default", "period": "last_2_days", "payload": {"a": 1},
             "sections": {"b": None, "a": None}}
    assert list(plan(event, {"default": ATTRS}, TODAY)) == [
        {"job_schema_name": "default", "period": "last_2_days", "a": 1, "sections": {"b": None, "a": None}}]
    clean = [{"payload": {"a": 1}, "date_list": ["2019-01-29", "2019-01-30"], "sections": ["b", "a"]}]
    assert list(plan(event, {"default": ATTRS}, TODAY, style="clean")) == clean
    assert list(plan({**event, "sosw_core": {"payload_style": "clean"}}, {"default": ATTRS}, TODAY)) == clean
    assert list(plan({**event, "sosw_core": {"payload_style": "sosw07"}}, {"default": ATTRS}, TODAY,
                     style="clean"))[0]["a"] == 1  # the job's own choice wins
    with pytest.raises(InvalidJob, match="^period: unknown period"):  # names matched whole
        list(plan({"lambda_name": "w", "period": "todayX"}, {}, TODAY, style="clean"))
    assert payloads({"lambda_name": "w", "period": "todayX", "isolate_sections": True, "sections": ["a"]}) \
        == [{"isolate_sections": True, "date_list": ["2019-01-31"], "sections": ["a"]}]  # sosw07: prefixes


def test_payloads_keep_the_job_order():
    """A dict of nulls gives its values in the job's order, tasks come in sosw 0.7's order."""
    tasks = payloads({"lambda_name": "w", "isolate_stores": True, "sections": {
        "z": {"stores": {"zeta": None, "alpha": None}}, "a": {"stores": ["y", "b"]}}}, ("section", "store"))
    assert [(t["sections"], t["stores"]) for t in tasks] == [
        (["z"], ["zeta"]), (["z"], ["alpha"]), (["a"], ["y"]), (["a"], ["b"])]
    assert payloads({"lambda_name": "w", "sections": {"b": None, "a": None}, "isolate_sections": True,
                     "max_sections_per_batch": 5}) == [
        {"max_sections_per_batch": 5, "isolate_sections": True, "sections": ["b", "a"]}]


@pytest.mark.parametrize(("event", "path"), [
    ({"lambda_name": "w", "isolate_stores": True, "sections": ["a", "b"]}, "sections"),  # AttributeError
    ({"lambda_name": "w", "task_id": "mine"}, "task_id"),
    ({"lambda_name": "w", "created_at": 1}, "created_at"),
    ({"lambda_name": "w", "attempts": 2}, "attempts"),
    ({"lambda_name": "w", "labourer_id": "other"}, "labourer_id"),
    ({"lambda_name": "w", "payload": "[1, 2]", "x": 1}, "payload"),
    ({"lambda_name": "w", "period": "last_0_days", "isolate_days": True, "isolate_sections": True,
      "sections": ["a"]}, "period"),
    ({"lambda_name": "w", "max_sections_per_batch": "x", "isolate_sections": True, "sections": ["a"]},
     "max_sections_per_batch"),
])
def test_jobs_sosw_07_crashed_on_are_refused(event, path):
    with pytest.raises(InvalidJob) as error:
        payloads(event)
    assert error.value.path == path


@pytest.mark.parametrize(("today", "week"), [(date(2019, 1, 27), range(20, 27)),  # a Sunday
                                             (date(2019, 1, 26), range(13, 20))])  # a Saturday
def test_last_week_on_sundays(today, week):
    """sosw 0.7.51 gave 2019-01-13..19 on Sunday the 27th; the previous week is the 20th..26th."""
    event = {"lambda_name": "w", "period": "last_week", "products": ["a"], "isolate_products": True}
    assert payloads(event, ("product",), today) == [
        {"date_list": [f"2019-01-{day:02d}" for day in week], "products": ["a"], "isolate_products": True}]


# ---- our edge cases -------------------------------------------------------------------------

def test_empty_job_and_no_levels_are_one_task():
    assert payloads({"lambda_name": "w"}) == [{}]
    assert payloads({"lambda_name": "w", **copy.deepcopy(P)}, attrs=()) == [P]
    assert payloads({"lambda_name": "w", "isolate_days": True}) == [{"isolate_days": True}]  # raw


def test_flags_and_custom_keys_travel_lower_keys_win():
    tasks = payloads({"lambda_name": "w", "owner": "ops", "region": "us", "isolate_stores": True,
                      "sections": {"s": {"region": "eu", "stores": {"st": {"note": 1, "region": "x"}}}}})
    assert tasks == [{"owner": "ops", "region": "x", "isolate_stores": True, "sections": ["s"],
                      "stores": ["st"], "note": 1}]


def test_root_flag_set_false_wins_over_a_flag_below():
    event = {"lambda_name": "w", "isolate_products": False,
             "sections": {"s": {"stores": {"st": {"isolate_products": True, "products": ["a", "b"]}}}}}
    assert payloads(event) == [{k: v for k, v in event.items() if k != "lambda_name"}]


def test_nearest_batch_size_wins_and_digit_strings_are_sizes():
    event = {"lambda_name": "w", "max_products_per_batch": "2", "sections": {"s": {"stores": {
        "a": {"products": list("abcde")}, "b": {"products": list("abcde"), "max_products_per_batch": 4}}}}}
    batches = Counter((t["stores"][0], len(t["products"])) for t in payloads(event))
    assert batches == {("a", 2): 2, ("a", 1): 1, ("b", 4): 1, ("b", 1): 1}


def test_numbers_booleans_and_floats_are_values():
    tasks = payloads({"lambda_name": "w", "isolate_products": True, "products": [1, 2.5, True, "x"]},
                     ("product",))
    assert [t["products"] for t in tasks] == [[1], [2.5], [True], ["x"]]


def test_period_is_expanded_where_sosw_07_expanded_it():
    chunked = {"isolate_sections": True, "sections": ["a"]}
    assert payloads({"lambda_name": "w", "period": "last_3_days", "isolate_days": False, **chunked}) == [
        {**chunked, "date_list": ["2019-01-28", "2019-01-29", "2019-01-30"], "sections": ["a"]}]
    assert payloads({"lambda_name": "w", "period": None, "x": 1, **chunked}) == [{"x": 1, **chunked}]
    assert payloads({"lambda_name": "w", "period": "last_0_days", **chunked}) == [{**chunked, "date_list": []}]


def test_dates_come_first_then_levels_per_date():
    tasks = payloads({"lambda_name": "w", "period": "last_2_days", "isolate_days": True,
                      "isolate_sections": True, "sections": ["a", "b"]})
    assert [(t["date_list"][0], t["sections"][0]) for t in tasks] == [
        ("2019-01-29", "a"), ("2019-01-29", "b"), ("2019-01-30", "a"), ("2019-01-30", "b")]


def test_custom_period_pattern():
    registry = default_periods()
    registry.register(r"quarter_(?P<q>[1-4])", lambda m, t: [date(t.year, 3 * int(m["q"]) - 2, 1)])
    assert payloads({"lambda_name": "w", "period": "quarter_2", "isolate_products": 1, "products": ["p"]},
                    ("product",), periods=registry) == [
        {"isolate_products": 1, "date_list": ["2019-04-01"], "products": ["p"]}]


def test_variants_and_plan():
    variants = {"default": ["section"], "flat": ["item"]}
    assert list(plan({"lambda_name": "w", "isolate_sections": True, "sections": ["a", "b"]}, variants, TODAY)) \
        == [{"isolate_sections": True, "sections": ["a"]}, {"isolate_sections": True, "sections": ["b"]}]
    tasks = plan({"lambda_name": "w", "job_schema_name": "flat", "items": [1, 2], "isolate_items": True},
                 variants, TODAY)
    assert [t["items"] for t in tasks] == [[1], [2]]
    with pytest.raises(InvalidJob, match="^job_schema_name: no variant named 'nope'"):
        plan({"lambda_name": "w", "job_schema_name": "nope"}, variants, TODAY)


@pytest.mark.parametrize("attrs", [("sections",), ("a", "a"), "section", ("",), (3,)])
def test_bad_chunkable_attrs_are_config_errors(attrs):
    with pytest.raises(ConfigError, match="chunkable_attrs"):
        payloads({"lambda_name": "w"}, attrs)


@pytest.mark.parametrize(("event", "path", "rule"), [
    ({"isolate_sections": True, "sections": {"s1": "not-an-object"}}, "sections.s1", "must be an object or null"),
    ({"isolate_sections": True, "sections": [{"a": None}, {"b": 1}]}, "sections.b", "must be an object or null"),
    ({"isolate_sections": True, "sections": {"s1": {"stores": [["nested"]]}}}, "sections.s1.stores",
     "must be an object {name: subdata}"),
    ({"isolate_stores": True, "sections": {"s1": {"stores": [{"x": 1}, 2]}}}, "sections.s1.stores",
     "cannot be split"),
    ({"isolate_sections": True, "sections": ["a", None]}, "sections", "cannot be split"),
    ({"sections": {"s": {"stores": {"st": {"isolate_products": True, "products": [{"p": 1}]}}}}},
     "sections.s.stores.st.products.p", "must be an object or null"),
    ({"isolate_sections": 1, "max_sections_per_batch": 0, "sections": ["a"]}, "max_sections_per_batch",
     "positive integer"),
    ({"sections": {"s": {"max_stores_per_batch": -2, "stores": ["a"]}}, "isolate_sections": 1},
     "sections.s.max_stores_per_batch", "positive integer"),
    ({"isolate_sections": 1, "sections": {"s": {"stores": {"st": {"max_products_per_batch": "many"}}}}},
     "sections.s.stores.st.max_products_per_batch", "must be an integer"),
    ({"isolate_sections": 1, "max_sections_per_batch": None, "sections": ["a"]}, "max_sections_per_batch",
     "must be an integer"),
    ({"isolate_sections": 1, "section": "a", "sections": ["b"]}, "sections", "not both"),
    ({"isolate_sections": 1, "sections": ["a"], "period": "bogus"}, "period", "unknown period"),
    ({"isolate_sections": 1, "sections": ["a"], "period": "last_0_days", "isolate_days": 1}, "period",
     "gives no dates"),
    ({"isolate_sections": 1, "sections": ["a"], "period": 3}, "period", "must be a string"),
])
def test_invalid_jobs_name_the_path_and_the_rule(event, path, rule):
    with pytest.raises(InvalidJob) as error:
        payloads({"lambda_name": "w", **event})
    assert error.value.path == path
    assert rule in error.value.rule
    assert str(error.value) == f"{path}: {error.value.rule}"


def test_invalid_job_raises_at_the_call_before_any_payload():
    """The bad value is the last one walked: still nothing is yielded."""
    event = {"lambda_name": "w", "isolate_sections": True, "sections": {"a": None, "b": None, "z": 3}}
    with pytest.raises(InvalidJob, match=r"^sections\.z: "):
        iter_task_payloads(parse_job(event), ATTRS, TODAY)
    with pytest.raises(InvalidJob):
        validate(parse_job(event), ATTRS)


def test_validate_without_today_checks_the_period_pattern_only():
    validate(parse_job({"lambda_name": "w", "period": "last_5_days"}), ATTRS, style="clean")
    with pytest.raises(InvalidJob, match="^period: "):
        validate(parse_job({"lambda_name": "w", "period": "last_5_dayz"}), ATTRS, style="clean")
    assert validate(parse_job({"lambda_name": "w", "period": "last_5_dayz"}), ATTRS) == 1  # sosw07: raw


def test_a_job_must_be_a_parsed_job():
    with pytest.raises(InvalidJob, match="^job: "):
        list(iter_task_payloads(Job("w", [1, 2]), ATTRS, TODAY))  # type: ignore[arg-type]


def test_the_job_is_not_changed_by_planning():
    job = parse_job(p_with(section_weddings__store_music={"isolate_products": True}))
    before = copy.deepcopy(job.body)
    list(iter_task_payloads(job, ATTRS, TODAY))
    assert job.body == before


def test_a_large_job_is_generated_lazily():
    event = {"lambda_name": "w", "isolate_products": True, "products": [f"p{i}" for i in range(100_000)]}
    job = parse_job(event)
    stream = iter_task_payloads(job, ("product",), TODAY)
    assert inspect.isgenerator(stream)
    assert next(stream) == {"isolate_products": True, "products": ["p0"]}
    assert sum(1 for _ in stream) == 99_999


def test_many_tasks_over_dates_and_levels_are_generated_lazily():
    sections = {f"s{i}": {"stores": [f"st{j}" for j in range(100)]} for i in range(100)}
    job = parse_job({"lambda_name": "w", "period": "last_10_days", "isolate_days": True,
                     "isolate_stores": True, "sections": sections})
    stream = iter_task_payloads(job, ATTRS, TODAY)
    first = next(stream)
    assert (first["date_list"], first["sections"], first["stores"]) == (["2019-01-21"], ["s0"], ["st0"])
    assert sum(1 for _ in stream) == 100_000 - 1


# ---- properties ------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(NAMES, st.integers(-2, 3), st.sampled_from([1.5, True]))


def level_value(depth: int):
    """A value for level ``depth`` of ATTRS: null, one value, a flat list, a dict of subdata."""
    subdata = st.none() if depth + 1 >= len(ATTRS) else st.one_of(st.none(), job_dict(depth + 1))
    return st.one_of(st.none(), SCALARS, st.lists(SCALARS, max_size=4),
                     st.dictionaries(NAMES, subdata, max_size=3),
                     st.lists(st.dictionaries(NAMES, st.none(), max_size=2), min_size=1, max_size=2))


def job_dict(depth: int):
    level = ATTRS[depth]
    flags = st.fixed_dictionaries({}, optional={
        f"isolate_{level}s": st.booleans(), f"max_{level}s_per_batch": st.integers(0, 3),
        **({f"isolate_{ATTRS[depth + 1]}s": st.booleans()} if depth + 1 < len(ATTRS) else {}),
        "k": st.integers(0, 9)})
    return st.builds(lambda f, key, value: {**f, key: value} if value != "absent" else f, flags,
                     st.sampled_from([f"{level}s", level]), st.one_of(st.just("absent"), level_value(depth)))


@settings(max_examples=300, deadline=None)
@given(body=job_dict(0), period=st.sampled_from([None, "today", "last_2_days"]), isolate_days=st.booleans(),
       style=st.sampled_from(["sosw07", "clean"]))
def test_validation_is_complete_and_errors_come_before_any_payload(body, period, isolate_days, style):
    """A job that ``validate`` passes yields all its payloads without an error; one it refuses
    raises at the call, before a payload is built."""
    event = {"lambda_name": "w", **body, **({"period": period, "isolate_days": isolate_days} if period else {})}
    job = parse_job(event)
    try:
        count = validate(job, ATTRS, TODAY, style=style)
    except InvalidJob:
        with pytest.raises(InvalidJob):
            iter_task_payloads(job, ATTRS, TODAY, style=style)
        return
    tasks = list(iter_task_payloads(job, ATTRS, TODAY, style=style))
    assert len(tasks) == count
    raw = len(tasks) == 1 and "period" in tasks[0]  # sosw07: the first level not chunked
    assert raw or all("period" not in t and "isolate_days" not in t for t in tasks)
    assert raw or all(("date_list" in t) == bool(period) for t in tasks)
    assert style == "sosw07" or not raw

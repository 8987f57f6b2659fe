"""The jobs of sosw 0.7.51's own Scheduler unit tests (``sosw/test/unit/test_scheduler.py``),
written here as our own vectors: the expected payloads come from running the real sosw 0.7.51."""

from __future__ import annotations

import copy
import json
from datetime import date

from tests.differential.sosw07 import REFUSED_CRASH, SAME, Case, compare, requires_sosw07

pytestmark = requires_sosw07

LEVELS = ("section", "store", "product")
# The shape of sosw's test payload: sections → stores → products, dicts of nulls and a flat list.
SHOP = {"sections": {
    "section_funerals": {"stores": {"store_flowers": None, "store_caskets": None}},
    "section_weddings": {"stores": {"store_flowers": None, "store_limos": None,
                                    "store_music": {"products": ["product_march", "product_chorus", 740,
                                                                 "product,4", "product 5"]}}},
    "section_conversions": {"stores": {"store_training": {"products": {"product_history": None,
                                                                       "product_prayer": None}},
                                       "store_baptizing": None, "store_circumcision": None}},
    "section_gifts": None}}


def shop(**edits: dict) -> dict:
    """SHOP with ``{"<section>__<store>": {key: value}}`` edits (a store's value null → {})."""
    body = copy.deepcopy(SHOP)
    for where, extra in edits.items():
        section, _, store = where.partition("__")
        target = body["sections"][section]
        if store:
            stores = target["stores"]
            stores[store] = {**(stores[store] or {}), **extra}
        else:
            target.update(extra)
    return {"lambda_name": LABOURER_NAME, **body}


LABOURER_NAME = "w"
REAL_JOB = {"lambda_name": "some_lambda", "period": "last_2_days", "isolate_days": True,
            "sections": {"111": {"all_campaigns": True}, "222": {"all_campaigns": True},
                         "333": {"isolate_stores": True, "all_campaigns": False,
                                 "stores": {"333-111": None, "333-222": None, "333-333": {"keep_me": 7}}}},
            "isolate_sections": "True"}
PERIODS = ["today", "yesterday", "last_1_days", "last_3_days", "last_10_days", "1_days_back", "10_days_back",
           "previous_2_days", "last_week", "last_42_days"]

CASES = [
    # chunk_job and its variants
    Case("chunk_job", shop(section_weddings__store_music={"isolate_products": True},
                           section_conversions__store_training={"isolate_products": True})),
    Case("max_items_per_batch", shop(section_weddings__store_music={"max_products_per_batch": 2})),
    Case("root_level_isolate", {**shop(), "isolate_stores": True}),
    Case("unchunkable_subtask_preserved", shop(section_conversions__store_training={
        "isolate_products": True,
        "products": {"product_history": None, "product_prayer": None,
                     "product_book": {"product_versions": {"product_version_audio": None,
                                                           "product_version_paper": None}}}})),
    Case("unsupported_vals_string", {**shop(section_conversions={"isolate_stores": True}),
                                     "sections": {**shop()["sections"], "section_conversions": {
                                         "isolate_stores": True, "stores": {"store_training": "some_string"}}}}),
    Case("unsupported_vals_list", {"lambda_name": "w", "sections": {"section_conversions": {
        "isolate_stores": True, "stores": {"store_training": ["just_a_string"]}}}}),
    Case("not_chunkable_without_isolation", {"lambda_name": "w", "isolate_sections": True, "sections": {
        **SHOP["sections"], "section_conversions": {"stores": {"store_training": "some_string",
                                                               "store_baptizing": None}}}}),
    Case("unchunkable_custom_attrs", {"lambda_name": "w", "sections": {"section_funerals": {"custom": "data"},
                                                                       "section_weddings": None}}),
    Case("isolate_subdata", shop(section_funerals={"isolate_stores": True})),
    Case("isolate_subdata_deep", shop(section_conversions__store_training={"isolate_products": True})),
    Case("max_items_deep", shop(section_conversions__store_training={"max_products_per_batch": 3})),
    Case("not_chunkable_config", shop(), attrs=()),
    # construct_job_data
    Case("real_payload", REAL_JOB),
    Case("empty_job", {"lambda_name": "w"}),
    Case("skeleton_through_chunkers", {"lambda_name": "w", "pl": 1}),
    # chunk_dates: first without chunking (the period stays raw), then with a chunked level
    *(Case(f"period_{period}_raw", {"lambda_name": "w", "period": period, "a": "foo"}) for period in PERIODS),
    *(Case(f"period_{period}_isolated", {"lambda_name": "w", "period": period, "isolate_days": True, "a": "foo",
                                         "isolate_sections": True, "sections": {"s1": None, "s2": None}})
      for period in PERIODS),
    Case("last_5_days_isolated", {"lambda_name": "w", "period": "last_5_days", "isolate_days": True, "a": "foo",
                                  "isolate_products": True, "products": ["p"]}, attrs=("product",),
         today=date(2019, 1, 30)),
    Case("last_week_on_a_tuesday", {"lambda_name": "w", "period": "last_week", "isolate_sections": True,
                                    "sections": ["s"]}, today=date(2019, 4, 30)),
    Case("previous_2_days", {"lambda_name": "w", "period": "previous_2_days", "isolate_sections": True,
                             "sections": ["s"]}, today=date(2019, 4, 30)),
    Case("invalid_period", {"lambda_name": "w", "period": "putin_the_best", "isolate_sections": True,
                            "sections": ["s"]}),
    Case("invalid_period_raw", {"lambda_name": "w", "period": "putin_the_best"}),
    # extract_job_from_payload
    Case("wrapped", {"job": {"lambda_name": "foo", "payload_attr": "val"}}),
    Case("flat", {"lambda_name": "foo", "payload_attr": "val"}),
    Case("arn", {"lambda_name": "arn:aws:lambda:us-west-2:000000000000:function:foo", "payload_attr": "val"}),
    Case("json", json.dumps({"lambda_name": "foo", "payload_attr": "val"})),
    Case("json_wrapped", json.dumps({"job": {"lambda_name": "foo", "payload_attr": "val"}})),
    Case("json_in_json", json.dumps({"job": json.dumps({"lambda_name": "foo", "payload_attr": "val"})})),
    Case("no_lambda_name", {"payload_attr": "val"}),
    Case("wrapped_no_lambda_name", {"job": {"payload_attr": "val"}}),
    Case("wrapped_not_json", {"job": "bad one"}),
    Case("not_an_object", 42),
    # parse_job_to_file
    Case("simple_job", {"lambda_name": "w", "some_payload": "foo"}),
    Case("multiple_rows", {"lambda_name": "w", "isolate_sections": True,
                           "sections": {"section_technic": None, "section_furniture": None}}),
    # apply_job_schema
    Case("job_schema", {"job": {"lambda_name": "test_lambda", "job_schema_name": "sample_schema_name"}},
         attrs=("b",), variants={"sample_schema_name": ("a",)}),
    Case("job_schema_chunked", {"job": {"lambda_name": "test_lambda", "job_schema_name": "sample_schema_name",
                                        "isolate_as": True, "as": {"x": None, "y": None}}},
         attrs=("b",), variants={"sample_schema_name": ("a", "b", "c")}),
    Case("job_schema_default", {"job": {"lambda_name": "test_lambda"}}, attrs=("b",)),
]


def test_sosw_unit_test_jobs_give_sosw_payloads():
    verdicts, _ = compare(CASES)
    assert verdicts[SAME] >= len(CASES) - 12
    assert verdicts[REFUSED_CRASH] >= 5

"""The jobs of sosw 0.7.51's docs and tutorial, and of our own job-format spec and migration
guide, through the real sosw 0.7.51 and through sosw-core."""

from __future__ import annotations

import json
from datetime import date

from tests.differential.sosw07 import REFUSED_CRASH, SAME, Case, compare, requires_sosw07

pytestmark = requires_sosw07

TUTORIAL_LEVELS = ("topic", "word")
WORDS = {"cars": ["toyota", "mazda", "nissan", "racing", "automobile", "car"],
         "food": ["recipe", "cooking", "eating", "food", "meal", "tasty"],
         "shows": ["opera", "cinema", "movie", "concert", "show", "musical"]}
TUTORIAL_JOB = {"topics": {topic: {"words": words} for topic, words in WORDS.items()},
                "period": "last_2_days", "isolate_days": True, "isolate_words": True}
TUTORIAL_TASK = {"lambda_name": "sosw_tutorial_pull_tweeter_hashtags",
                 "topics": {topic: {"isolate_words": True, "words": words} for topic, words in WORDS.items()},
                 "period": "last_2_days", "isolate_days": True, "isolate_words": True}
TUTORIAL_PAYLOAD = {"lambda_name": TUTORIAL_TASK["lambda_name"],  # beside `job`: sosw crashed
                    "job": {key: value for key, value in TUTORIAL_TASK.items() if key != "lambda_name"}}

SPEC_P = {"sections": {
    "section_funerals": {"stores": {"store_flowers": None, "store_caskets": None}},
    "section_weddings": {"stores": {"store_flowers": None, "store_limos": None, "store_music": {
        "products": ["product_march", "product_chorus", 740, "product,4", "product 5"]}}},
    "section_conversions": {"stores": {"store_training": {"products": {"product_history": None,
                                                                       "product_prayer": None}},
                                       "store_baptizing": None, "store_circumcision": None}},
    "section_gifts": None}}


def spec_p(music=None, training=None, **root):
    body = json.loads(json.dumps(SPEC_P))
    body["sections"]["section_weddings"]["stores"]["store_music"].update(music or {})
    body["sections"]["section_conversions"]["stores"]["store_training"].update(training or {})
    return {"lambda_name": "w", **root, **body}


MIGRATION_EXAMPLE = {"job": json.dumps({
    "lambda_name": "arn:aws:lambda:us-west-2:000000000000:function:reports", "period": "last_2_days",
    "isolate_days": True, "isolate_sections": True,
    "sections": {"s1": None, "s2": {"stores": {"a": None, "b": None}, "note": 1}}})}

CASES = [
    Case("tutorial_job", {"lambda_name": "sosw_tutorial_pull_tweeter_hashtags", **TUTORIAL_JOB},
         attrs=TUTORIAL_LEVELS),
    Case("tutorial_task_json", {"job": TUTORIAL_TASK}, attrs=TUTORIAL_LEVELS),
    Case("tutorial_task_json_text", json.dumps({"job": TUTORIAL_TASK}), attrs=TUTORIAL_LEVELS),
    Case("tutorial_full_payload", TUTORIAL_PAYLOAD, attrs=TUTORIAL_LEVELS),
    Case("tutorial_job_on_a_sunday", {"lambda_name": "t", **TUTORIAL_JOB, "period": "last_week"},
         attrs=TUTORIAL_LEVELS, today=date(2019, 1, 27)),
    Case("tutorial_job_no_levels_config", {"lambda_name": "t", **TUTORIAL_JOB}, attrs=()),
    Case("spec_vector_1", spec_p({"isolate_products": True}, {"isolate_products": True})),
    Case("spec_vector_2", spec_p({"max_products_per_batch": 2})),
    Case("spec_vector_3", spec_p(isolate_stores=True)),
    Case("spec_vector_4", {"lambda_name": "some_lambda", "period": "last_2_days", "isolate_days": True,
                           "isolate_sections": "True", "sections": {
                               "111": {"all_campaigns": True}, "222": {"all_campaigns": True},
                               "333": {"isolate_stores": True, "all_campaigns": False,
                                       "stores": {"333-111": None, "333-222": None, "333-333": {"keep_me": 7}}}}}),
    Case("spec_vector_5", {"lambda_name": "w", "some_payload": "foo"}),
    Case("migration_example", MIGRATION_EXAMPLE),
    Case("migration_refused", {"lambda_name": "reports", "isolate_sections": True, "sections": {"s1": [{"x": 1}]}}),
    Case("issue_nulls_keep_order", {"lambda_name": "w", "isolate_stores": True, "sections": {
        "s": {"stores": {"zeta": None, "alpha": None}, "k": 1}}}),
    Case("issue_payload_key", {"lambda_name": "w", "payload": {"a": 1, "b": 2}, "b": 3}),
    Case("issue_payload_key_json", {"lambda_name": "w", "payload": '{"a": 1}', "isolate_sections": True,
                                    "sections": ["x", "y"]}),
    Case("issue_job_id_is_data", {"lambda_name": "w", "job_id": "free text, with spaces / slashes"}),
    Case("issue_job_schema_name_travels", {"lambda_name": "w", "job_schema_name": "flat", "isolate_items": True,
                                           "items": [1, 2]}, variants={"flat": ("item",)}),
    Case("issue_period_raw", {"lambda_name": "w", "period": "last_3_days", "sections": {"a": None}}),
    Case("singular_key", {"lambda_name": "w", "section": {"a": None, "b": None}, "isolate_sections": True}),
    Case("custom_keys_beside_an_unchunked_level", {"lambda_name": "w", "isolate_sections": True, "sections": {
        "s1": {"stores": ["a", "b"], "region": "eu"}}}, attrs=("section", "store")),
]


def test_docs_and_tutorial_jobs_give_sosw_payloads():
    verdicts, _ = compare(CASES)
    assert verdicts[SAME] >= 14
    assert verdicts[REFUSED_CRASH] == 2  # the tutorial's lambda_name beside `job`; a list of objects
    assert verdicts["fixed: singular level key (sosw made those tasks twice)"] == 1
    # the migration guide's example (`note` beside s2's stores) and the case made for it
    assert verdicts["fixed: custom keys beside an unchunked level kept (sosw dropped them)"] == 2
    assert verdicts["fixed: last_week on a Sunday"] == 1

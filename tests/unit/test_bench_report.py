"""bench/report.py: headline figures, cost per million tasks, goals and the generated document,
from a small hand-written results document (no DynamoDB)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench.report import (
    END_MARKER,
    START_MARKER,
    Goal,
    TaskCost,
    comparison_table,
    essentials_cost,
    goals,
    headline,
    merge_summaries,
    replace_section,
    update,
)


def spread(median: float, low: float | None = None, high: float | None = None) -> dict[str, float]:
    return {"median": median, "min": median if low is None else low, "max": median if high is None else high,
            "n": 3}


def entry(size: int, metrics: dict[str, float], requests: dict[str, float] | None = None) -> dict[str, Any]:
    return {"size": size, "runs": 3, "ok": 3, "status": "ok",
            "metrics": {name: spread(value) for name, value in metrics.items()},
            "requests": {op: spread(count) for op, count in (requests or {}).items()}}


def document() -> dict[str, Any]:
    return {
        "created_at": "2026-11-23T12:00:00+00:00", "smoke": False, "repeats": 3,
        "machine": {"cpus": 2, "platform": "Linux", "python": "3.11.7"},
        "dynamodb": "DynamoDB Local (in memory), one instance for all runs",
        "summary": {
            "raw_limit": {"raw": entry(20_000, {"items_per_s_1_thread": 3_500.0, "items_per_s_4_threads": 5_000.0,
                                                "indexed_items_per_s_4_threads": 4_800.0,
                                                "task_rows_per_s_4_threads": 4_400.0})},
            "ingest": {"ours": entry(20_000, {"tasks_per_s": 4_200.0, "requests_per_task": 0.042}),
                       "sosw07": entry(2_000, {"tasks_per_s": 22.8, "requests_per_task": 3.0})},
            "lifecycle": {
                "ours": entry(1_000, {"seconds": 20.0, "tasks_per_s": 50.0, "requests_per_task": 2.061,
                                      "write_units_per_task": 8.0, "read_units_per_task": 0.0},
                              {"BatchWriteItem": 40, "PutItem": 1, "Query": 20, "UpdateItem": 2_000}),
                "sosw07": entry(1_000, {"seconds": 36.0, "tasks_per_s": 27.4, "requests_per_task": 11.14,
                                        "write_units_per_task": 15.0, "read_units_per_task": 11.7},
                                {"DeleteItem": 1_000, "PutItem": 6_000, "Query": 2_140, "UpdateItem": 2_000}),
            },
            "idle": {"ours": entry(50, {"requests_per_labourer": 3.0}),
                     "sosw07": entry(50, {"requests_per_labourer": 14.0})},
            "short_tasks": {"ours": entry(30, {"tasks_per_s": 9.2, "tasks_per_s_without_chaining": 5.9}),
                            "sosw07": entry(30, {"tasks_per_s": 0.167, "measured_tasks_per_s": 5.8})},
            "ingest_100k": {"ours": {**entry(100_000, {"peak_mb": 150.0}),
                                     "metrics": {"peak_mb": spread(140.0, 130.0, 150.0),
                                                 "tasks_per_s": spread(4_000.0)}}},
        },
        "runs": [],
    }


# -- cost -------------------------------------------------------------------------------------
def test_task_cost_adds_every_priced_item():
    cost = TaskCost(write_units=8, read_units=2, lambda_requests=1, lambda_gb_seconds=0.01, state_transitions=2)
    expected = 8 * 0.625e-6 + 2 * 0.125e-6 + 0.2e-6 + 0.01 * 0.0000166667 + 2 * 0.025e-3
    assert cost.usd() == pytest.approx(expected)


def test_essentials_cost_floors_read_units_at_the_per_request_minimum():
    ours = essentials_cost(document()["summary"], "lifecycle", "ours")
    assert ours == TaskCost(write_units=8.0, read_units=0.01, lambda_requests=1.0,
                            lambda_gb_seconds=pytest.approx(0.02 * 0.25))


def test_cost_per_million_tasks():
    costs = headline(document())["cost_per_million_tasks_usd"]
    # ours: 8 WCU x 0.625 + 0.01 RCU x 0.125 + 1 request x 0.20 + 0.005 GB-s x 16.6667
    assert costs["ours"] == round(5.0 + 0.00125 + 0.2 + 0.005 * 16.6667, 2) == 5.28
    # sosw: 15 x 0.625 + 11.7 x 0.125 + 0.20 + 0.009 GB-s x 16.6667
    assert costs["sosw"] == round(9.375 + 1.4625 + 0.2 + 0.009 * 16.6667, 2) == 11.19
    assert costs["step_functions_standard"] == 50.0  # 2 transitions x $25 per million


def test_cost_is_none_without_a_lifecycle_run():
    doc = document()
    del doc["summary"]["lifecycle"]["sosw07"]
    assert headline(doc)["cost_per_million_tasks_usd"]["sosw"] is None


# -- headline figures -------------------------------------------------------------------------
def test_headline_pairs_ours_and_sosw():
    figures = headline(document())
    assert figures["raw_batch_items_per_s"] == 5_000.0
    assert figures["ingest"]["ours_tasks_per_s"] == 4_200.0
    assert figures["ingest"]["sosw_tasks_per_s"] == 22.8
    assert figures["ingest"]["ours_share_of_raw"] == 0.84
    assert figures["ingest"]["ours_share_of_indexed_items"] == 0.875  # 4,200 / 4,800
    assert figures["ingest"]["ours_share_of_task_rows"] == 0.955  # 4,200 / 4,400
    assert (figures["raw_indexed_items_per_s"], figures["raw_task_rows_per_s"]) == (4_800.0, 4_400.0)
    assert figures["lifecycle"]["ours_write_requests_per_task"] == 2.041  # (40 + 1 + 2000) / 1000
    assert figures["lifecycle"]["sosw_write_requests_per_task"] == 9.0
    assert figures["idle"] == {"ours_requests_per_labourer": 3.0, "sosw_requests_per_labourer": 14.0}
    assert figures["short_tasks"]["ours_tasks_per_s_without_chaining"] == 5.9
    assert figures["ingest_100k_peak_mb"] == 150.0  # the worst repeat, not the median
    assert figures["ingest_100k"]["ours_tasks_per_s"] == 4_000.0
    assert figures["ingest_100k"]["ours_peak_mb"] == 150.0 and figures["ingest_100k"]["ours_size"] == 100_000


# -- goals ------------------------------------------------------------------------------------
def test_goals_pass_with_margins():
    items = {goal.name.split()[0]: goal for goal in goals(headline(document()))}
    assert all(goal.passed for goal in items.values())
    assert items["ingest"].margin() == "passes by 4 points (5% of the target)"
    assert items["short"].margin() == "passes by 1.2 tasks/s (15% of the target)"
    assert items["requests"].margin() == "passes by 0 (0% of the target)"


def test_goals_miss_and_not_measured():
    doc = document()
    doc["summary"]["ingest_100k"]["ours"]["metrics"]["peak_mb"] = spread(240.0, 230.0, 250.0)
    doc["summary"]["short_tasks"]["ours"]["metrics"]["tasks_per_s"] = spread(6.0)
    del doc["summary"]["idle"]["ours"]
    items = {goal.name.split()[0]: goal for goal in goals(headline(doc))}
    assert items["100,000-task"].passed is False
    assert items["100,000-task"].margin() == "misses by 50 MB (25% of the target)"
    assert items["short"].passed is False
    assert items["requests"].passed is None
    assert items["requests"].margin() == "not measured"


def test_at_most_goal_passes_on_the_boundary():
    assert Goal("g", 3.04, 3.04, at_least=False).passed is True
    assert Goal("g", 3.05, 3.04, at_least=False).passed is False


# -- rendering --------------------------------------------------------------------------------
def test_comparison_table_rows_and_spreads():
    summary = copy.deepcopy(document()["summary"])
    summary["lifecycle"]["ours"]["metrics"]["tasks_per_s"] = spread(50.0, 40.0, 55.0)
    summary["dispatch"] = {"ours": {"size": 10_000, "runs": 3, "ok": 0, "status": "missing"}}
    table = comparison_table(summary).splitlines()
    assert table[0].startswith("| workload | side | size | runs | tasks/s")
    lifecycle = next(line for line in table if line.startswith("| lifecycle | ours"))
    assert "| 1,000 | 3/3 | 50 (40–55) | 2.061 | 8 | 0 |" in lifecycle
    assert any(line.startswith("| lifecycle | sosw 0.7.51 |") for line in table)
    assert "| dispatch | ours | 10,000 | 0/3 (missing) | — | — |" in "\n".join(table)
    assert "req/labourer 14" in next(line for line in table if line.startswith("| idle | sosw"))


def test_replace_section_keeps_the_prose_and_is_idempotent():
    text = f"# Benchmarks\n\nprose before\n\n{START_MARKER}\nold\n{END_MARKER}\n\nprose after\n"
    section = f"{START_MARKER}\nnew\n{END_MARKER}"
    once = replace_section(text, section)
    assert once == f"# Benchmarks\n\nprose before\n\n{section}\n\nprose after\n"
    assert replace_section(once, section) == once
    assert replace_section("# Benchmarks\n", section) == f"# Benchmarks\n\n{section}\n"


def test_update_writes_results_and_document(tmp_path: Path):
    results, doc = tmp_path / "results.json", tmp_path / "benchmarks.md"
    results.write_text(json.dumps(document()))
    doc.write_text(f"# Benchmarks\n\nhand-written\n\n{START_MARKER}\n{END_MARKER}\n")
    update(results, doc)
    written = json.loads(results.read_text())
    assert written["machine"] == {"cpus": 2, "platform": "Linux", "python": "3.11.7"}  # kept
    assert written["runs"] == [] and "summary" in written
    assert written["cost_per_million_tasks_usd"]["ours"] == 5.28
    assert written["lifecycle"]["ours_write_units_per_task"] == 8.0
    assert [goal["passed"] for goal in written["goals"]] == [True] * 5
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written\n")
    assert text.count(START_MARKER) == 1 and text.count(END_MARKER) == 1
    assert "| sosw-core | 5.28 |" in text and "| Step Functions Standard | 50.00 |" in text
    assert "**pass**" in text and "looked up 2026-11-23" in text
    assert "| plain boto3, sosw-core task rows built beforehand, tasks table | 4,400 | 95% |" in text


def test_update_without_a_document_only_writes_results(tmp_path: Path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(document()))
    figures = update(results, None)
    assert figures["raw_batch_items_per_s"] == 5_000.0
    assert json.loads(results.read_text())["ingest_100k_peak_mb"] == 150.0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.json"]


def test_merge_adds_missing_labels_only():
    doc = document()
    del doc["summary"]["ingest_100k"]
    other = {"summary": {"ingest_100k": {"ours": entry(100_000, {"peak_mb": 90.0})},
                         "idle": {"ours": entry(50, {"requests_per_labourer": 99.0})}}}
    merge_summaries(doc, [other])
    figures = headline(doc)
    assert figures["ingest_100k_peak_mb"] == 90.0
    assert figures["idle"]["ours_requests_per_labourer"] == 3.0  # the document's own label wins

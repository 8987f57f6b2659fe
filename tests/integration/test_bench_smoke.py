"""The benchmark's smoke plan against the session's DynamoDB Local: every script runs, and the
results file has every field issue 7 asks for, with sane values (nothing here is timed)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.harness import SMOKE_PLAN, last_json_line, main, subprocess_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SOSW_PYTHON = ROOT / ".venv-sosw07" / "bin" / "python"
NO_SOSW = (f"{SOSW_PYTHON.parent.parent.name} is absent: the sosw 0.7.51 side needs its own venv "
           "(make bench builds it from bench/sosw07/requirements.txt)")


@pytest.fixture(scope="module")
def smoke(dynamodb_local, tmp_path_factory) -> dict[str, Any]:
    """One smoke run of the harness (the sosw 0.7.51 side only when its venv exists)."""
    out = tmp_path_factory.mktemp("bench") / "results-smoke.json"
    sides = "raw,ours,sosw07" if SOSW_PYTHON.exists() else "raw,ours"
    # a run that would outlast the time budget is skipped (and fails the test below): the smoke
    # takes ~30 s on a loaded 2-core machine; its 240 s default budget is raised for a busier one
    code = main(["--smoke", "--endpoint", dynamodb_local, "--out", str(out), "--no-doc", "--sides", sides,
                 "--budget", "1200"])
    document = json.loads(out.read_text())
    document["exit_code"] = code
    return document


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_every_run_of_the_smoke_plan_is_ok(smoke):
    assert smoke["exit_code"] == 0
    assert smoke["smoke"] is True and smoke["machine"]["cpus"] >= 1
    broken = [(run["label"], run["side"], run["reason"]) for run in smoke["runs"] if run["status"] != "ok"]
    assert broken == []
    expected = {(entry.label, side) for entry in SMOKE_PLAN for side in entry.sizes
                if side != "sosw07" or SOSW_PYTHON.exists()}
    assert {(run["label"], run["side"]) for run in smoke["runs"]} == expected


def test_our_side_has_every_required_field(smoke):
    assert positive(smoke["raw_batch_items_per_s"])
    assert positive(smoke["raw_indexed_items_per_s"]) and positive(smoke["raw_task_rows_per_s"])
    assert positive(smoke["ingest"]["ours_tasks_per_s"]) and 0 < smoke["ingest"]["ours_share_of_raw"]
    assert positive(smoke["dispatch"]["ours_tasks_per_s"])
    lifecycle = smoke["lifecycle"]
    for name in ("ours_requests_per_task", "ours_write_units_per_task", "ours_write_requests_per_task"):
        assert positive(lifecycle[name]), name
    assert lifecycle["ours_write_requests_per_task"] <= lifecycle["ours_requests_per_task"]
    assert 0 < smoke["idle"]["ours_requests_per_labourer"] < 20
    assert positive(smoke["short_tasks"]["ours_tasks_per_s"])
    assert 20 < smoke["ingest_100k_peak_mb"] < 1_000  # a whole Python process, in MB
    assert smoke["ingest_100k"]["ours_size"] == 1_000  # the 100k row at smoke size
    cost = smoke["cost_per_million_tasks_usd"]
    assert positive(cost["ours"]) and cost["step_functions_standard"] == 50.0
    assert {goal["name"] for goal in smoke["goals"]} and all(
        goal["passed"] in (True, False) for goal in smoke["goals"])
    ingest = smoke["summary"]["ingest"]["ours"]["metrics"]
    assert ingest["created"]["median"] == 20  # rows counted in the table, not reported by the code


def test_sosw_side_has_every_required_field(smoke):
    if not SOSW_PYTHON.exists():
        pytest.skip(NO_SOSW)
    assert positive(smoke["ingest"]["sosw_tasks_per_s"])
    assert positive(smoke["dispatch"]["sosw_tasks_per_s"])
    assert positive(smoke["lifecycle"]["sosw_requests_per_task"])
    assert positive(smoke["lifecycle"]["sosw_write_units_per_task"])
    assert positive(smoke["idle"]["sosw_requests_per_labourer"])
    assert positive(smoke["short_tasks"]["sosw_tasks_per_s"])
    assert positive(smoke["cost_per_million_tasks_usd"]["sosw"])


def test_raw_limit_script(dynamodb_local):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "raw_limit.py"), "--endpoint", dynamodb_local,
                           "--size", "100"], cwd=ROOT, env=subprocess_env(dynamodb_local, ROOT),
                          capture_output=True, text=True, timeout=120, check=True)
    line = last_json_line(done.stdout)
    assert line is not None and line["workload"] == "raw_limit"
    assert line["tasks"] == 200  # 100 items from 1 thread, 100 from 4 threads
    assert line["requests"] == {"BatchWriteItem": 8}  # 4 batches of 25 per setting
    assert line["write_units"] == pytest.approx(200.0)
    for name in ("items_per_s_1_thread", "items_per_s_4_threads", "indexed_items_per_s_4_threads",
                 "task_rows_per_s_4_threads"):
        assert positive(line[name]), name
    assert 400 < line["indexed_items_bytes"] < 600 and 200 < line["task_rows_bytes"] < 600

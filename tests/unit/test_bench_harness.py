"""The benchmark harness: statistics, scheduling and the results file, with fake workload scripts.

Fake scripts are tiny Python files in tmp_path that print one JSON line, so these tests need no
DynamoDB; tests/integration/test_bench_smoke.py runs the real scripts against DynamoDB Local.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.harness import (
    Entry,
    Side,
    build_summary,
    last_json_line,
    run_plan,
    schedule,
    skip_reason,
    subprocess_env,
    write_results,
)
from bench.summary import render_table, spread, summarize

ROOT = Path(__file__).resolve().parents[2]

FAKE_SCRIPT = """
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--endpoint")
parser.add_argument("--size", type=int)
parser.add_argument("--workload")
args = parser.parse_args()
counter = pathlib.Path(__file__).with_suffix(".count")
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
seconds = [1.0, 3.0, 2.0][n % 3]
print("a log line before the result")
print(json.dumps({"workload": args.workload or "w", "tasks": args.size, "seconds": seconds,
                  "tasks_per_s": args.size / seconds, "requests": {"PutItem": args.size * (n + 1)},
                  "requests_per_task": float(n + 1), "endpoint_seen": args.endpoint}))
"""


def write_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    return path


def quiet(_: str) -> None:
    pass


# -- statistics -------------------------------------------------------------------------------
def test_spread_odd_and_even_counts():
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert spread([4.0, 1.0, 2.0, 3.0]) == {"median": 2.5, "min": 1.0, "max": 4.0, "n": 4}
    with pytest.raises(ValueError):
        spread([])


def test_summarize_takes_numeric_measures_and_requests_per_operation():
    results = [
        {"workload": "w", "tasks": 10, "seconds": 1.0, "ok": True, "tasks_per_s": None,
         "requests": {"Query": 4, "PutItem": 10}},
        {"workload": "w", "tasks": 10, "seconds": 3.0, "ok": True, "tasks_per_s": None,
         "requests": {"Query": 6, "PutItem": 10}},
    ]
    summary = summarize(results)
    assert summary["metrics"] == {"seconds": {"median": 2.0, "min": 1.0, "max": 3.0, "n": 2}}
    assert summary["requests"]["Query"] == {"median": 5.0, "min": 4.0, "max": 6.0, "n": 2}
    assert summary["requests"]["PutItem"]["median"] == 10.0


def test_last_json_line_skips_logs_and_broken_lines():
    stdout = 'starting\n{"a": 1}\nnot json\n{"b": 2\n{"c": 3}\ntrailing log\n'
    assert last_json_line(stdout) == {"c": 3}
    assert last_json_line("nothing here\n") is None


# -- scheduling -------------------------------------------------------------------------------
def test_sides_alternate_which_goes_first_between_repeats():
    sides = {name: Side(name, Path(sys.executable), "x.py") for name in ("ours", "sosw07")}
    plan = [Entry("a", "a", {"ours": 1, "sosw07": 1}), Entry("b", "b", {"sosw07": 2})]
    order = [(repeat, entry.label, side.name) for repeat, entry, side in schedule(plan, sides, 2)]
    assert order == [(0, "a", "ours"), (0, "a", "sosw07"), (0, "b", "sosw07"),
                     (1, "a", "sosw07"), (1, "a", "ours"), (1, "b", "sosw07")]


def test_an_entry_can_cap_its_repeats():
    sides = {"ours": Side("ours", Path(sys.executable), "x")}
    plan = [Entry("a", "a", {"ours": 1}), Entry("once", "a", {"ours": 100}, repeats=1)]
    order = [(repeat, entry.label) for repeat, entry, _ in schedule(plan, sides, 3)]
    assert order == [(0, "a"), (0, "once"), (1, "a"), (2, "a")]


def test_the_full_plan_measures_a_100k_ingest_once():
    from bench.harness import FULL_PLAN, SMOKE_PLAN

    entry, = (e for e in FULL_PLAN if e.label == "ingest_100k")
    assert (entry.workload, dict(entry.sizes), entry.repeats) == ("ingest", {"ours": 100_000}, 1)
    assert {e.label for e in FULL_PLAN} == {e.label for e in SMOKE_PLAN} | {"ingest_same_size", "lifecycle_same_size"}


# -- running fake scripts ---------------------------------------------------------------------
@pytest.fixture
def fake_sides(tmp_path) -> dict[str, Side]:
    write_script(tmp_path / "ours", "ingest.py", FAKE_SCRIPT)
    write_script(tmp_path / "ours", "broken.py", "import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n")
    write_script(tmp_path / "ours", "sosw_bug.py",
                 'import json\nprint(json.dumps({"workload": "x", "tasks": 1, "error": "KeyError: x"}))\n')
    write_script(tmp_path / "other", "run.py", FAKE_SCRIPT)
    return {"ours": Side("ours", Path(sys.executable), "ours/{workload}.py"),
            "sosw07": Side("sosw07", Path(sys.executable), "other/run.py", workload_arg=True),
            "novenv": Side("novenv", tmp_path / "missing-venv" / "python", "other/run.py")}


def test_three_repeats_give_median_and_min_max(tmp_path, fake_sides):
    plan = [Entry("ingest", "ingest", {"ours": 20, "sosw07": 5})]
    runs = run_plan(plan, fake_sides, "http://127.0.0.1:1", repeats=3, budget_seconds=120,
                    root=tmp_path, env=subprocess_env("http://127.0.0.1:1"), log=quiet)
    assert [run.status for run in runs] == ["ok"] * 6
    assert {run.result["endpoint_seen"] for run in runs} == {"http://127.0.0.1:1"}
    assert {run.result["workload"] for run in runs if run.side == "sosw07"} == {"ingest"}

    summary = build_summary(plan, runs)
    ours = summary["ingest"]["ours"]
    assert (ours["size"], ours["runs"], ours["ok"], ours["status"]) == (20, 3, 3, "ok")
    assert ours["metrics"]["seconds"] == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert ours["metrics"]["tasks_per_s"] == {"median": 10.0, "min": 20 / 3, "max": 20.0, "n": 3}
    assert ours["requests"]["PutItem"] == {"median": 40.0, "min": 20.0, "max": 60.0, "n": 3}
    assert summary["ingest"]["sosw07"]["metrics"]["requests_per_task"]["median"] == 2.0


def test_missing_failed_error_and_skipped_are_recorded_not_raised(tmp_path, fake_sides):
    plan = [Entry("dispatch", "dispatch", {"ours": 10}),          # no ours/dispatch.py
            Entry("no_venv", "ingest", {"novenv": 1}),
            Entry("broken", "broken", {"ours": 1}),
            Entry("sosw_bug", "sosw_bug", {"ours": 1})]
    runs = run_plan(plan, fake_sides, "http://127.0.0.1:1", repeats=1, budget_seconds=60,
                    root=tmp_path, env=subprocess_env("http://127.0.0.1:1"), log=quiet)
    by_label = {run.label: run for run in runs}
    assert by_label["dispatch"].status == "missing"
    assert by_label["dispatch"].reason == "no script ours/dispatch.py"
    assert by_label["no_venv"].status == "missing"
    assert by_label["broken"].status == "failed"
    assert by_label["broken"].reason == "exit code 3"
    assert "boom" in by_label["broken"].stderr_tail
    assert by_label["sosw_bug"].status == "error"
    assert by_label["sosw_bug"].reason == "KeyError: x"

    skipped = run_plan(plan[:1], fake_sides, "http://127.0.0.1:1", repeats=2, budget_seconds=0,
                       root=tmp_path, env={}, log=quiet)
    assert [run.status for run in skipped] == ["skipped", "skipped"]


def test_results_file_shape(tmp_path, fake_sides):
    plan = [Entry("ingest", "ingest", {"ours": 4, "sosw07": 4}), Entry("idle", "idle", {"ours": 2})]
    runs = run_plan(plan, fake_sides, "http://127.0.0.1:1", repeats=2, budget_seconds=120,
                    root=tmp_path, env=subprocess_env("http://127.0.0.1:1"), log=quiet)
    out = tmp_path / "results" / "results.json"
    write_results(out, plan, runs, smoke=True, repeats=2, budget_seconds=120, elapsed=1.5)

    document = json.loads(out.read_text())
    assert set(document) == {"created_at", "smoke", "repeats", "budget_seconds", "elapsed_seconds",
                             "machine", "dynamodb", "plan", "summary", "runs"}
    assert document["plan"][0] == {"label": "ingest", "workload": "ingest", "sizes": {"ours": 4, "sosw07": 4},
                                   "repeats": 2}
    assert len(document["runs"]) == 6
    assert set(document["runs"][0]) == {"label", "workload", "side", "size", "repeat", "status",
                                        "seconds_wall", "reason", "result", "stderr_tail"}
    assert document["summary"]["idle"]["ours"]["status"] == "missing"
    assert "metrics" not in document["summary"]["idle"]["ours"]
    assert document["summary"]["ingest"]["sosw07"]["metrics"]["seconds"]["n"] == 2

    table = render_table(document["summary"])
    assert table.splitlines()[0].split()[:4] == ["workload", "side", "size", "runs"]
    assert "0/2 missing" in table


def test_a_repeat_that_would_outrun_the_budget_is_skipped_not_killed():
    assert skip_reason(600.0, None) is None  # never ran: no estimate
    assert skip_reason(600.0, 500.0) is None
    assert "would not finish within the budget (500s left, the last run took 480s)" == skip_reason(500.0, 480.0)
    assert skip_reason(0.5, None) == "time budget exhausted"

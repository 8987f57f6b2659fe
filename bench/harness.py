"""Run the benchmark plan on one DynamoDB Local: sides alternating, repeated; write results.json.

    .venv/bin/python -m bench.harness            # full run: bench/results.json + docs/benchmarks.md
    .venv/bin/python -m bench.harness --smoke    # tiny sizes, 1 repeat, bench/tmp/results-smoke.json

After the runs, :mod:`bench.report` adds the headline figures, goals and costs to the results
file and (full runs, or ``--doc``) rewrites the generated table in docs/benchmarks.md.

A side is a way to run a workload script (bench/ours/README.md gives the interface). A script that
does not exist yet, or a side whose venv is missing, is recorded as ``missing``; a run that would
start after the time budget, or that would not finish within it judging by its previous repeat,
is recorded as ``skipped``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import report
from bench.summary import render_table, summarize

ROOT = Path(__file__).resolve().parents[1]
STDERR_TAIL = 2000
# A repeat is not started when its previous run took longer than this share of the budget left:
# it would be killed at the budget's end and recorded as failed.
BUDGET_MARGIN = 1.1


@dataclass(frozen=True)
class Side:
    """How to run a workload: ``python script --endpoint URL --size N [--workload NAME]``."""

    name: str
    python: Path
    script: str  # relative to the repository root; may contain {workload}
    workload_arg: bool = False

    def script_path(self, root: Path, workload: str) -> Path:
        return root / self.script.format(workload=workload)

    def missing(self, root: Path, workload: str) -> str | None:
        if not self.python.exists():
            return f"no interpreter at {self.python}"
        script = self.script_path(root, workload)
        return None if script.exists() else f"no script {script.relative_to(root)}"

    def command(self, root: Path, workload: str, endpoint: str, size: int) -> list[str]:
        cmd = [str(self.python), str(self.script_path(root, workload)), "--endpoint", endpoint,
               "--size", str(size)]
        return cmd + (["--workload", workload] if self.workload_arg else [])


@dataclass(frozen=True)
class Entry:
    """One row of the plan: a workload and the size each side runs it at; ``repeats`` caps the
    number of repeats of this row (None: every repeat)."""

    label: str
    workload: str
    sizes: Mapping[str, int]
    repeats: int | None = None


def default_sides(root: Path = ROOT, sosw_python: Path | None = None) -> dict[str, Side]:
    ours = Path(sys.executable)
    return {
        "raw": Side("raw", ours, "bench/raw_limit.py"),
        "ours": Side("ours", ours, "bench/ours/{workload}.py"),
        "sosw07": Side("sosw07", sosw_python or root / ".venv-sosw07" / "bin" / "python",
                       "bench/sosw07/run.py", workload_arg=True),
    }


# sosw 0.7.51 runs ingest and lifecycle smaller: its per-task cost grows with the queue (each new
# task reads a full 1 MB page of it), so 20,000 tasks would take it far beyond the budget. The
# *_same_size rows run ours at sosw's size for a like-for-like comparison.
# ingest_100k: the peak memory of a 100,000-task ingest (and its rate), once per run (~60 s).
FULL_PLAN: tuple[Entry, ...] = (
    Entry("raw_limit", "raw_limit", {"raw": 20_000}),
    Entry("ingest", "ingest", {"ours": 20_000, "sosw07": 2_000}),
    Entry("ingest_100k", "ingest", {"ours": 100_000}, repeats=1),
    Entry("ingest_same_size", "ingest", {"ours": 2_000}),
    Entry("dispatch", "dispatch", {"ours": 10_000, "sosw07": 10_000}),
    Entry("lifecycle", "lifecycle", {"ours": 5_000, "sosw07": 1_000}),
    Entry("lifecycle_same_size", "lifecycle", {"ours": 1_000}),
    Entry("idle", "idle", {"ours": 50, "sosw07": 50}),
    Entry("short_tasks", "short_tasks", {"ours": 30, "sosw07": 30}),
)

DEFAULT_SIDES = "raw,ours,sosw07"

# Run once before the plan and left out of the results: DynamoDB Local's JVM is slow until warm.
WARMUP = Entry("warmup", "raw_limit", {"raw": 5_000})

SMOKE_PLAN: tuple[Entry, ...] = (
    Entry("raw_limit", "raw_limit", {"raw": 200}),
    Entry("ingest", "ingest", {"ours": 20, "sosw07": 20}),
    Entry("ingest_100k", "ingest", {"ours": 1_000}, repeats=1),  # the 100k row, at smoke size
    Entry("dispatch", "dispatch", {"ours": 50, "sosw07": 50}),
    Entry("lifecycle", "lifecycle", {"ours": 10, "sosw07": 10}),
    Entry("idle", "idle", {"ours": 3, "sosw07": 3}),
    Entry("short_tasks", "short_tasks", {"ours": 10, "sosw07": 10}),
)


@dataclass
class Run:
    label: str
    workload: str
    side: str
    size: int
    repeat: int
    status: str  # ok | error (the script reported one) | failed | missing | skipped
    seconds_wall: float = 0.0
    reason: str | None = None
    result: dict[str, Any] | None = None
    stderr_tail: str | None = field(default=None, repr=False)


def last_json_line(stdout: str) -> dict[str, Any] | None:
    """The last stdout line that is a JSON object (scripts may print other lines before it)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_one(side: Side, entry: Entry, repeat: int, endpoint: str, timeout: float, root: Path,
            env: Mapping[str, str]) -> Run:
    size = entry.sizes[side.name]
    run = Run(entry.label, entry.workload, side.name, size, repeat, status="failed")
    reason = side.missing(root, entry.workload)
    if reason:
        run.status, run.reason = "missing", reason
        return run
    started = time.perf_counter()
    try:
        done = subprocess.run(side.command(root, entry.workload, endpoint, size), cwd=root, env=dict(env),
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        run.seconds_wall = round(time.perf_counter() - started, 3)
        run.reason = f"timed out after {timeout:.0f}s"
        run.stderr_tail = _tail(exc.stderr)
        return run
    run.seconds_wall = round(time.perf_counter() - started, 3)
    run.stderr_tail = _tail(done.stderr)
    run.result = last_json_line(done.stdout)
    if done.returncode != 0:
        run.reason = f"exit code {done.returncode}"
    elif run.result is None:
        run.reason = "no JSON line on stdout"
    elif "error" in run.result:
        run.status, run.reason = "error", str(run.result["error"])
    else:
        run.status = "ok"
    return run


def _tail(text: str | bytes | None) -> str | None:
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-STDERR_TAIL:]


def skip_reason(remaining: float, last_seconds: float | None) -> str | None:
    """Why a run must not start with ``remaining`` seconds of budget left (None: start it)."""
    if remaining <= 1:
        return "time budget exhausted"
    if last_seconds is not None and last_seconds * BUDGET_MARGIN > remaining:
        return (f"would not finish within the budget ({remaining:.0f}s left, the last run took "
                f"{last_seconds:.0f}s)")
    return None


def schedule(plan: Sequence[Entry], sides: Mapping[str, Side], repeats: int) -> Iterator[tuple[int, Entry, Side]]:
    """Repeat by repeat, entry by entry; the side that goes first alternates between repeats."""
    for repeat in range(repeats):
        for entry in plan:
            if entry.repeats is not None and repeat >= entry.repeats:
                continue
            names = [name for name in entry.sizes if name in sides]
            if repeat % 2:
                names.reverse()
            for name in names:
                yield repeat, entry, sides[name]


def run_plan(plan: Sequence[Entry], sides: Mapping[str, Side], endpoint: str, repeats: int,
             budget_seconds: float, root: Path = ROOT, env: Mapping[str, str] | None = None,
             log: Callable[[str], None] = print) -> list[Run]:
    env = dict(env if env is not None else subprocess_env(endpoint, root))
    started = time.monotonic()
    runs: list[Run] = []
    took: dict[tuple[str, str], float] = {}  # wall seconds of the last ok run of (label, side)
    for repeat, entry, side in schedule(plan, sides, repeats):
        remaining = budget_seconds - (time.monotonic() - started)
        reason = skip_reason(remaining, took.get((entry.label, side.name)))
        if reason:
            run = Run(entry.label, entry.workload, side.name, entry.sizes[side.name], repeat, "skipped",
                      reason=reason)
        else:
            run = run_one(side, entry, repeat, endpoint, remaining, root, env)
            if run.status == "ok":
                took[(entry.label, side.name)] = run.seconds_wall
        runs.append(run)
        log(f"[{time.monotonic() - started:6.1f}s] repeat {repeat + 1}/{repeats} {entry.label:<20} "
            f"{side.name:<7} size {run.size:<6} {run.status}"
            + (f" ({run.reason})" if run.reason else ""))
    return runs


def subprocess_env(endpoint: str, root: Path = ROOT) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("AWS_PROFILE", "AWS_ENDPOINT_URL")}
    env.update({"PYTHONPATH": str(root), "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_SESSION_TOKEN": "bench", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_DYNAMODB": endpoint})
    return env


def build_summary(plan: Sequence[Entry], runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for entry in plan:
        for side, size in entry.sizes.items():
            mine = [run for run in runs if run.label == entry.label and run.side == side]
            if not mine:
                continue
            ok = [run.result for run in mine if run.status == "ok" and run.result is not None]
            statuses = sorted({run.status for run in mine})
            item: dict[str, Any] = {"size": size, "runs": len(mine), "ok": len(ok),
                                    "status": "ok" if statuses == ["ok"] else ",".join(statuses)}
            reasons = sorted({run.reason for run in mine if run.reason})
            if reasons:
                item["reasons"] = reasons
            if ok:
                item.update(summarize(ok))
            summary.setdefault(entry.label, {})[side] = item
    return summary


def write_results(path: Path, plan: Sequence[Entry], runs: Sequence[Run], *, smoke: bool, repeats: int,
                  budget_seconds: float, elapsed: float) -> dict[str, Any]:
    document = {
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "smoke": smoke, "repeats": repeats, "budget_seconds": budget_seconds,
        "elapsed_seconds": round(elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "dynamodb": "DynamoDB Local (in memory), one instance for all runs",
        "plan": [{"label": e.label, "workload": e.workload, "sizes": dict(e.sizes),
                  "repeats": e.repeats or repeats} for e in plan],
        "summary": build_summary(plan, runs),
        "runs": [asdict(run) for run in runs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return document


@contextmanager
def dynamodb_endpoint(endpoint: str | None) -> Iterator[str]:
    """The given endpoint, or one DynamoDB Local started for the whole run."""
    if endpoint:
        yield endpoint
        return
    from sosw_core.local.dynamodb_local import start

    with start() as ddb:
        yield ddb.endpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repeat (for make test)")
    parser.add_argument("--repeats", type=int, help="default 3 (1 with --smoke)")
    parser.add_argument("--budget", type=float, help="seconds for all runs (default 780; 240 with --smoke)")
    parser.add_argument("--only", help="comma-separated labels of the plan to run")
    parser.add_argument("--sides", default=DEFAULT_SIDES, help="comma-separated sides")
    parser.add_argument("--endpoint", help="use this DynamoDB endpoint instead of starting DynamoDB Local")
    parser.add_argument("--sosw-python", type=Path, help="interpreter of the sosw 0.7.51 venv")
    parser.add_argument("--out", type=Path, help="default bench/results.json (bench/tmp/... with --smoke)")
    parser.add_argument("--doc", type=Path, help="the page whose generated table to rewrite (default: "
                                                 "docs/benchmarks.md after a whole run, else none)")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    plan = SMOKE_PLAN if args.smoke else FULL_PLAN
    if args.only:
        wanted = set(args.only.split(","))
        plan = tuple(entry for entry in plan if entry.label in wanted)
    sides = {name: side for name, side in default_sides(ROOT, args.sosw_python).items()
             if name in args.sides.split(",")}
    repeats = args.repeats or (1 if args.smoke else 3)
    budget = args.budget or (240.0 if args.smoke else 780.0)
    out = args.out or (ROOT / "bench" / "tmp" / "results-smoke.json" if args.smoke
                       else ROOT / "bench" / "results.json")

    started = time.monotonic()
    with dynamodb_endpoint(args.endpoint) as endpoint:
        print(f"DynamoDB at {endpoint}; {repeats} repeat(s), budget {budget:.0f}s", flush=True)
        if not args.smoke and "raw" in sides:
            warmup = run_one(sides["raw"], WARMUP, 0, endpoint, 120, ROOT, subprocess_env(endpoint))
            print(f"warm-up ({WARMUP.sizes['raw']} items): {warmup.status}", flush=True)
        runs = run_plan(plan, sides, endpoint, repeats, budget,
                        log=lambda message: print(message, flush=True))
    document = write_results(out, plan, runs, smoke=args.smoke, repeats=repeats, budget_seconds=budget,
                             elapsed=time.monotonic() - started)
    print(render_table(document["summary"]))
    # the page shows the full plan only: a smoke, partial (--only/--sides) or elsewhere-written
    # (--out) run leaves it alone unless --doc says where to write
    whole = not (args.smoke or args.only or args.out) and args.sides == DEFAULT_SIDES
    doc = None if args.no_doc else args.doc or (ROOT / "docs" / "benchmarks.md" if whole else None)
    figures = report.update(out, doc)
    for goal in figures["goals"]:
        print(report.goal_line(goal))
    print(f"wrote {out}" + (f" and {doc}" if doc else ""))
    broken = [run for run in runs if run.status in ("failed", "error")]
    for run in broken:
        print(f"{run.status}: {run.label} {run.side} repeat {run.repeat + 1}: {run.reason}\n"
              f"{run.stderr_tail or ''}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

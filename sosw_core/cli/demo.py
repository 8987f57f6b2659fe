"""``sosw-core demo``: the main job — a local deployment working through example jobs."""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys

from sosw_core.cli.render import dump_json, table
from sosw_core.domain.task import TaskState
from sosw_core.local.dynamodb_local import start

COLUMNS = ("labourer", "queued", "running", "retrying", "completed", "dead")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="run the whole system locally on example jobs",
        description="Start DynamoDB Local, submit three example jobs (a few thousand tasks over "
                    "three labourers) through the Scheduler, and let the Orchestrator, Scavenger "
                    "and example workers run them to the end, with live progress. One labourer's "
                    "downstream degrades mid-run (throttling), one has failures that retry, a few "
                    "tasks end dead. Exits 0 when every task reached a final state.")
    parser.add_argument("--tasks", type=int, default=3000, help="about this many tasks (default 3000)")
    parser.add_argument("--tick", type=float, default=1.0,
                        help='the shortened "minute": seconds between ticks (default 1.0)')
    parser.add_argument("--endpoint-url", default=os.environ.get("SOSW_DYNAMODB_ENDPOINT"),
                        help="use this DynamoDB instead of starting DynamoDB Local")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON summary as the last stdout line (progress goes to stderr)")
    parser.set_defaults(func=run)


class LiveProgress:
    """A refreshing table on a terminal; one line every few seconds otherwise."""

    def __init__(self, out):
        self.out = out
        self.tty = out.isatty()
        self.last_line_at = -10.0
        self.drawn = 0

    def __call__(self, rows, elapsed: float) -> None:
        data = [(lab, c[TaskState.QUEUED], c[TaskState.INVOKED], c[TaskState.RETRYING],
                 c[TaskState.COMPLETED], c[TaskState.DEAD]) for lab, c in rows.items()]
        if self.tty:
            buffer = io.StringIO()
            print(f"sosw-core demo — {elapsed:5.1f}s", file=buffer)
            table(COLUMNS, data, out=buffer)
            text = buffer.getvalue()
            if self.drawn:
                self.out.write(f"\033[{self.drawn}F\033[J")
            self.out.write(text)
            self.out.flush()
            self.drawn = text.count("\n")
        elif elapsed - self.last_line_at >= 5:
            self.last_line_at = elapsed
            parts = [f"{lab}: {q} queued {r} running {rt} retrying {c} done {d} dead"
                     for lab, q, r, rt, c, d in data]
            print(f"[{elapsed:6.1f}s] " + " | ".join(parts), file=self.out, flush=True)


def run(args: argparse.Namespace) -> int:

    progress_out = sys.stderr if args.json else sys.stdout
    library_logger = logging.getLogger("sosw_core")
    previous_level = library_logger.level
    if not args.verbose:  # failing and retried tasks are part of the show: keep the screen for progress
        library_logger.setLevel(logging.ERROR)
    try:
        return _run(args, progress_out)
    finally:
        library_logger.setLevel(previous_level)


def _run(args: argparse.Namespace, progress_out) -> int:
    from sosw_core.local.demo import Demo, DemoOptions

    ddb = None
    endpoint = args.endpoint_url
    if endpoint is None:
        print("starting DynamoDB Local ...", file=progress_out, flush=True)
        ddb = start()
        endpoint = ddb.endpoint
    try:
        options = DemoOptions(tasks=args.tasks, tick_seconds=args.tick, endpoint_url=endpoint,
                              timeout_seconds=args.timeout)
        result = Demo(options, progress=LiveProgress(progress_out)).run()
    finally:
        if ddb is not None:
            ddb.stop()
    print(file=progress_out)
    table(("labourer", "tasks", "completed", "dead", "max running"),
          [(lab, sum(c.values()), c.get("completed", 0), c.get("dead", 0), result.max_running[lab])
           for lab, c in result.per_labourer.items()], out=progress_out)
    print(f"\n{result.tasks} tasks in {result.seconds:.1f}s: {result.completed} completed, "
          f"{result.dead} dead (expected {result.expected_dead}), {result.lost} lost; "
          f"{result.alerts} dead-task alerts", file=progress_out)
    if args.json:
        dump_json(result.as_json())
    return 0 if result.lost == 0 else 1

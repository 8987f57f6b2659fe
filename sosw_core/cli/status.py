"""``sosw-core status``: one row per labourer — queued, running, retrying, completed, dead."""

from __future__ import annotations

import argparse
import time

from sosw_core.cli.render import age, dump_json, table
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.clock import SystemClock
from sosw_core.store import TaskQueries, open_store
from sosw_core.task import TaskState

HEADERS = ("labourer", "queued", "running", "retrying", "completed", "dead", "oldest queued")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="tasks per labourer and state",
                            description="Print a table per labourer: queued, running, retrying, "
                                        "completed and dead tasks, and the age of the oldest queued.")
    add_target_arguments(parser)
    parser.add_argument("--labourer", action="append", default=[],
                        help="only this labourer (repeatable; default: every configured labourer)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--watch", type=float, nargs="?", const=2.0, default=None, metavar="SECONDS",
                        help="refresh every SECONDS (default 2) until Ctrl-C")
    parser.set_defaults(func=run)


def labourer_rows(queries: TaskQueries, labourer_ids: list[str], now: float) -> list[dict]:
    rows = []
    for labourer_id in labourer_ids:
        counts = queries.counts(labourer_id)
        oldest = queries.oldest_queued_at(labourer_id) if counts[TaskState.QUEUED] else None
        rows.append({"labourer_id": labourer_id,
                     **{state.value: counts[state] for state in TaskState},
                     "oldest_queued_age_s": None if oldest is None else round(now - oldest, 1)})
    return rows


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    labourer_ids = args.labourer or [lab.id for lab in config.labourers]
    if not labourer_ids:
        print("no labourers configured: pass --labourer NAME or a --config folder with labourers")
        return 2
    queries = open_store(config).queries
    clock = SystemClock()
    while True:
        rows = labourer_rows(queries, labourer_ids, clock.now())
        if args.json:
            dump_json({"labourers": rows})
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
            table(HEADERS, [(r["labourer_id"], r["queued"], r["invoked"], r["retrying"], r["completed"],
                             r["dead"], age(r["oldest_queued_age_s"])) for r in rows])
        if not args.watch:
            return 0
        time.sleep(args.watch)

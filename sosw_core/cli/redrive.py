"""``sosw-core redrive``: dead tasks back to the queue with a fresh attempt budget."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from sosw_core.cli.render import table
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.clock import SystemClock, iso
from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import TaskState
from sosw_core.wiring import build_store


def _when(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("redrive", help="send dead tasks back to the queue",
                            description="Queue dead tasks again with a fresh attempt budget. Try "
                                        "--dry-run first: it lists what would be redriven.")
    add_target_arguments(parser)
    parser.add_argument("--labourer", required=True, help="labourer id")
    parser.add_argument("--error-type", help="only tasks whose last error has this type")
    parser.add_argument("--since", type=_when, help="only tasks that died at or after (ISO time, UTC)")
    parser.add_argument("--until", type=_when, help="only tasks that died at or before (ISO time, UTC)")
    parser.add_argument("--dry-run", action="store_true", help="list the tasks; change nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = build_store(config_from_args(args))
    dead = [t for t in store.queries.closed(args.labourer, since=args.since, until=args.until,
                                            state=TaskState.DEAD)
            if args.error_type is None or t.error_type == args.error_type]
    if args.dry_run:
        table(("task_id", "died", "attempts", "error"),
              [(t.task_id, iso(t.closed_at), t.attempts, t.error_type or "") for t in dead])
        print(f"{len(dead)} dead task(s) would be redriven (dry run: nothing changed)")
        return 0
    clock = SystemClock()
    redriven = 0
    for n, task in enumerate(dead, 1):
        if store.tasks.redrive(task.task_id, clock.now()) is Outcome.APPLIED:
            redriven += 1
        if sys.stderr.isatty():
            print(f"\rredriving {n}/{len(dead)}", end="", file=sys.stderr)
    print(f"redriven {redriven} of {len(dead)} dead task(s)")
    return 0

"""``python -m devtools.chaos``: the chaos run (``make chaos``); one JSON line on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from devtools.chaos.engine import MAX_TASKS, ChaosOptions, ChaosRun
from sosw_core.errors import StoreUnavailable
from sosw_core.local.dynamodb_local import DynamoDBLocalError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devtools.chaos",
        description="Run sosw-core under chaos on DynamoDB Local: tasks over 4 labourers "
                    "(max 3/5/10/20 at once) submitted through the Scheduler, whose first "
                    "ingestion is killed mid-page and re-sent; 3 Orchestrators and 2 Scavengers "
                    "at once; workers that crash (10%), hang past their lease (10%), report "
                    "twice (5%) or late (5%), 1% of tasks crash every time; 5% of DynamoDB "
                    "requests throttled. Ends with one "
                    "JSON line on stdout (tasks, completed, dead, lost, duplicated, "
                    "reruns_after_completion, max_running_over_limit, seconds, ...), derived from "
                    "the table rows and the workers' own ledger. Progress goes to stderr. "
                    "Exit status 0 only when every failure counter is 0.")
    p.add_argument("--tasks", type=int, default=10_000, help=f"tasks in all (default 10000, at most {MAX_TASKS})")
    p.add_argument("--seed", type=int, default=1, help="chooses every worker's behaviour (default 1)")
    p.add_argument("--lease", type=float, default=2.5,
                   help="seconds a worker may run: lease and Lambda timeout (default 2.5)")
    p.add_argument("--tick", type=float, default=0.3,
                   help='the shortened "minute": seconds between ticks and sweeps (default 0.3)')
    p.add_argument("--max-attempts", type=int, default=3, help="attempts per task before it dies (default 3)")
    p.add_argument("--throttle-rate", type=float, default=0.05,
                   help="share of DynamoDB requests answered with a throttling error (default 0.05)")
    p.add_argument("--endpoint", default=os.environ.get("SOSW_DYNAMODB_ENDPOINT"),
                   help="use this DynamoDB (e.g. http://127.0.0.1:8000) instead of starting DynamoDB Local")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="give up after this many seconds; unfinished tasks count as lost (default 1800)")
    p.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--timeout-from-invoke", action="store_true",
                   help="give each worker its full Lambda timeout (= the lease length) from its start, "
                        "as AWS does, instead of ending it at its task's lease end like the local runtime")
    p.add_argument("--json", action="store_true",
                   help="accepted for symmetry with other commands: the JSON line is always printed")
    p.add_argument("--pretty", action="store_true", help="also print the result indented on stderr")
    p.add_argument("--verbose", action="store_true", help="show the library's warnings and errors on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        options = ChaosOptions(tasks=args.tasks, seed=args.seed, lease_seconds=args.lease,
                               tick_seconds=args.tick, max_attempts=args.max_attempts,
                               throttle_rate=args.throttle_rate, endpoint_url=args.endpoint,
                               timeout_seconds=args.timeout, progress_seconds=args.progress_every,
                               timeout_from_invoke=args.timeout_from_invoke)
    except ValueError as exc:
        print(f"python -m devtools.chaos: {exc}", file=sys.stderr)
        return 2
    library = logging.getLogger("sosw_core")
    level, propagate = library.level, library.propagate
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    else:
        # The faults are the point: every crash and refused late report would log a traceback.
        library.setLevel(logging.CRITICAL)
    try:
        result = ChaosRun(options, progress=lambda line: print(line, file=sys.stderr, flush=True)).run()
    except (DynamoDBLocalError, StoreUnavailable) as exc:
        print(f"python -m devtools.chaos: {exc}", file=sys.stderr)
        return 2
    finally:
        library.setLevel(level)
        library.propagate = propagate
    if args.pretty:
        print(json.dumps(result, indent=2), file=sys.stderr)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

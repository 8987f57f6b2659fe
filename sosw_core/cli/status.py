"""``sosw-core status``: one row per labourer — queued, running, retrying, completed, dead, health.

Health is the status the Orchestrator would compute now (0..4, 4 healthy) from the labourer's
CloudWatch metrics. Against a local endpoint there is no CloudWatch: labourers without metrics
show 4, labourers with metrics show "n/a (local)"; ``--no-health`` skips the CloudWatch calls.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sosw_core.adapters.dynamodb import TaskQueries
from sosw_core.cli.render import age, dump_json, table
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.clock import SystemClock
from sosw_core.config.model import SoswConfig
from sosw_core.domain.health import HEALTHY, labourer_status
from sosw_core.domain.task import TaskState
from sosw_core.wiring import build_store

HEADERS = ("labourer", "queued", "running", "retrying", "completed", "dead", "oldest queued", "health")
LOCAL_HEALTH = "n/a (local)"


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
    parser.add_argument("--no-health", action="store_true",
                        help="do not read the labourers' CloudWatch health metrics")
    parser.set_defaults(func=run)


def labourer_rows(queries: TaskQueries, labourer_ids: list[str], now: float,
                  health: Callable[[str], int | str | None] = lambda labourer_id: None) -> list[dict]:
    rows = []
    for labourer_id in labourer_ids:
        counts = queries.counts(labourer_id)
        oldest = queries.oldest_queued_at(labourer_id) if counts[TaskState.QUEUED] else None
        rows.append({"labourer_id": labourer_id,
                     **{state.value: counts[state] for state in TaskState},
                     "oldest_queued_age_s": None if oldest is None else round(now - oldest, 1),
                     "health": health(labourer_id)})
    return rows


def health_reader(config: SoswConfig, *, local: bool, now: float) -> Callable[[str], int | str | None]:
    """labourer id → its health status now (int), LOCAL_HEALTH, or None for an unknown labourer."""
    known = {lab.id: lab for lab in config.labourers}
    reader = None
    if not local and any(lab.health_metrics for lab in config.labourers):
        import boto3

        from sosw_core.adapters.cloudwatch import CloudWatchMetrics

        reader = CloudWatchMetrics(boto3.client("cloudwatch", region_name=config.dynamodb.region)).for_tick(now)

    def status(labourer_id: str) -> int | str | None:
        labourer = known.get(labourer_id)
        if labourer is None:
            return None
        if not labourer.health_metrics:
            return HEALTHY
        if reader is None:
            return LOCAL_HEALTH
        return labourer_status(labourer.health_metrics, [reader.value(m) for m in labourer.health_metrics])

    return status


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    labourer_ids = args.labourer or [lab.id for lab in config.labourers]
    if not labourer_ids:
        print("no labourers configured: pass --labourer NAME or a --config folder with labourers")
        return 2
    queries = build_store(config).queries
    clock = SystemClock()
    while True:
        now = clock.now()
        health = (lambda labourer_id: None) if args.no_health else health_reader(
            config, local=bool(config.dynamodb.endpoint_url), now=now)
        rows = labourer_rows(queries, labourer_ids, now, health)
        if args.json:
            dump_json({"labourers": rows})
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
            table(HEADERS, [(r["labourer_id"], r["queued"], r["invoked"], r["retrying"], r["completed"],
                             r["dead"], age(r["oldest_queued_age_s"]),
                             "-" if r["health"] is None else r["health"]) for r in rows])
        if not args.watch:
            return 0
        time.sleep(args.watch)

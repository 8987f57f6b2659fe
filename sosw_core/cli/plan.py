"""``sosw-core plan JOB.json``: print the tasks a job would make, one JSON line each (no AWS calls).

The payloads stream from the same planner the Scheduler uses, in the order it writes them
(task ``n`` of the output is the job's task ``n``). An invalid job exits with status 2 and
``sosw-core: <path>: <rule>`` on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sosw_core.clock import SystemClock
from sosw_core.config.layers import config_from_dict
from sosw_core.config.loader import parse_json
from sosw_core.config.model import SchedulerConfig
from sosw_core.domain.task import encode_payload
from sosw_core.errors import ConfigError, InvalidJob
from sosw_core.services.ingest import plan_job

EXIT_INVALID_JOB = 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plan", help="print the tasks a job would make (no AWS calls)",
                            description="Plan a Scheduler job offline: print one JSON object per task, "
                                        '{"labourer_id": ..., "payload": {...}}, in the order the '
                                        "Scheduler writes them.")
    parser.add_argument("job", metavar="JOB.json", help="the job as a JSON file, or - for stdin")
    parser.add_argument("--chunkable", default=None, metavar="LEVELS",
                        help="comma-separated chunkable levels of the default variant, "
                             "e.g. section,store,product")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="plan periods as of this day (default: today, UTC)")
    parser.add_argument("--config", dest="config_file", type=Path, default=None, metavar="FILE",
                        help='a config file, e.g. {"scheduler": {"job_schema_variants": '
                             '{"default": ["section", "store", "product"]}}}')
    parser.set_defaults(func=run)


def read_job(name: str) -> str:
    return sys.stdin.read() if name == "-" else Path(name).read_text()


def scheduler_config(config_file: Path | None, chunkable: str | None) -> SchedulerConfig:
    """The scheduler section of ``config_file`` (a config document, validated like any layer),
    with ``--chunkable`` as the default variant's levels."""
    scheduler = SchedulerConfig()
    if config_file is not None:
        layer = str(config_file)
        try:
            text = config_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("--config", f"cannot read {config_file}: {exc.strerror or exc}") from exc
        scheduler = config_from_dict(parse_json(text, layer), layer=layer).scheduler
    if chunkable is not None:
        levels = tuple(level.strip() for level in chunkable.split(",") if level.strip())
        others = tuple((name, attrs) for name, attrs in scheduler.job_schema_variants if name != "default")
        scheduler = dataclasses.replace(scheduler, job_schema_variants=(("default", levels), *others))
    return scheduler


def run(args: argparse.Namespace) -> int:
    scheduler = scheduler_config(args.config_file, args.chunkable)
    as_of = args.as_of or datetime.fromtimestamp(SystemClock().now(), UTC).date()
    out = sys.stdout
    try:
        text = read_job(args.job)
    except OSError as exc:
        print(f"sosw-core: {args.job}: cannot read the job: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    try:
        plan = plan_job(text, scheduler, as_of)
        for position, payload in enumerate(plan.payloads()):
            size = len(encode_payload(payload).encode())
            if size > scheduler.max_payload_bytes:
                raise InvalidJob(f"task {position}", f"payload is {size} bytes; "
                                                     f"the limit is {scheduler.max_payload_bytes}")
            out.write(json.dumps({"labourer_id": plan.labourer_id, "payload": payload}) + "\n")
    except InvalidJob as exc:
        out.flush()
        print(f"sosw-core: {exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    return 0

"""``sosw-core plan JOB.json``: print the tasks a job would make, one JSON line each (no AWS calls).

The payloads stream from the same planner the Scheduler uses, in the order it writes them
(task ``n`` of the output is the job's task ``n``). An invalid job exits with status 2 and
``sosw-core: <path>: <rule>`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sosw_core.clock import SystemClock
from sosw_core.config.model import SchedulerConfig
from sosw_core.errors import ConfigError, InvalidJob
from sosw_core.scheduler.ingest import plan_job
from sosw_core.task import encode_payload

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
                        help='JSON file with {"scheduler": {"job_schema_variants": {...}}}')
    parser.set_defaults(func=run)


def read_job(name: str) -> str:
    return sys.stdin.read() if name == "-" else Path(name).read_text()


def variants_from_json(data: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{name: [levels]}`` or sosw 0.7's ``{name: {"chunkable_attrs": [levels or [level, {}]]}}``."""
    if not isinstance(data, dict):
        raise ConfigError("scheduler.job_schema_variants", "must be an object of variant name → levels")
    variants = []
    for name, spec in data.items():
        levels = spec.get("chunkable_attrs") if isinstance(spec, dict) else spec
        if not isinstance(levels, list):
            raise ConfigError(f"scheduler.job_schema_variants.{name}", "must list its chunkable levels")
        names = [level[0] if isinstance(level, list) and level else level for level in levels]
        if not all(isinstance(level, str) and level for level in names):
            raise ConfigError(f"scheduler.job_schema_variants.{name}", "levels must be non-empty strings")
        variants.append((str(name), tuple(names)))
    return tuple(variants)


def scheduler_config(config_file: Path | None, chunkable: str | None) -> SchedulerConfig:
    variants: dict[str, tuple[str, ...]] = {"default": ()}
    if config_file is not None:
        try:
            data = json.loads(config_file.read_text())
        except ValueError as exc:
            raise ConfigError("--config", f"{config_file} is not valid JSON: {exc}") from exc
        section = data.get("scheduler", {}) if isinstance(data, dict) else None
        if not isinstance(section, dict):
            raise ConfigError("scheduler", "must be an object")
        variants.update(variants_from_json(section.get("job_schema_variants", {})))
    if chunkable is not None:
        variants["default"] = tuple(level.strip() for level in chunkable.split(",") if level.strip())
    return SchedulerConfig(job_schema_variants=tuple(variants.items()))


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

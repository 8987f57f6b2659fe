"""``sosw-core submit JOB.json``: ingest a job into the tasks table, or send it to the Scheduler Lambda.

In-process (default, :func:`sosw_core.api.ingest_job`): the Scheduler runs here against the
target DynamoDB (``--local``, ``--endpoint-url`` or AWS). Like the Lambda, it works in
invocations of a bounded length (``--slice-seconds``): each one reads the clock once, holds the
job's lease, and hands over to the next one, which this command runs itself.

``--async-lambda FUNCTION`` (:func:`sosw_core.api.submit_job`) checks the job here against the
config, as the Scheduler will, then invokes the deployed Scheduler asynchronously with it.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from sosw_core.api import SLICE_SECONDS, check_slice, ingest_job, job_schemas, submit_job
from sosw_core.cli.main import EXIT_USAGE
from sosw_core.cli.plan import EXIT_INVALID_JOB, read_job
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.config.model import SoswConfig
from sosw_core.domain.job_record import IngestStatus
from sosw_core.errors import InvalidJob
from sosw_core.services.ingest import PageDone

LOCAL_ENDPOINT = "http://127.0.0.1:8000"  # where `python -m sosw_core.local.dynamodb_local run` listens


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("submit", help="ingest a job: write its tasks, or send it to the Scheduler",
                            description="Run the Scheduler on a job in this process against the target "
                                        "DynamoDB, or (--async-lambda) invoke the Scheduler Lambda.")
    parser.add_argument("job", metavar="JOB.json", help="the job as a JSON file, or - for stdin")
    parser.add_argument("--local", action="store_true",
                        help=f"DynamoDB Local at $SOSW_DYNAMODB_ENDPOINT, else {LOCAL_ENDPOINT}")
    add_target_arguments(parser)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="plan periods as of this day (default: today, UTC)")
    parser.add_argument("--async-lambda", default=None, metavar="FUNCTION",
                        help="check the job here, then invoke this Scheduler Lambda asynchronously "
                             "with it instead")
    parser.add_argument("--progress", action="store_true",
                        help="print a line per page to stderr (default: when stderr is a terminal)")
    parser.add_argument("--slice-seconds", type=float, default=SLICE_SECONDS,
                        help="length of one in-process invocation before it hands over "
                             f"(default {SLICE_SECONDS:.0f})")
    parser.set_defaults(func=run)


def _progress(page: PageDone) -> None:
    print(f"{page.job_id}: {page.cursor}/{page.total} tasks ({page.written} written by this "
          f"invocation, {page.skipped} existed)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        text = read_job(args.job)
    except OSError as exc:
        print(f"sosw-core: {args.job}: cannot read the job: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    if args.local and not args.endpoint_url:
        args.endpoint_url = os.environ.get("SOSW_DYNAMODB_ENDPOINT") or LOCAL_ENDPOINT
    config = config_from_args(args, component="scheduler")
    schemas = job_schemas(Path(args.config_dir) if args.config_dir else None)
    try:
        if args.async_lambda:
            return _send(args, text, config, schemas)
        return _ingest(args, text, config, schemas)
    except InvalidJob as exc:
        print(f"sosw-core: {exc}", file=sys.stderr)
        return EXIT_INVALID_JOB


def _ingest(args: argparse.Namespace, text: str, config: SoswConfig, schemas: dict[str, dict]) -> int:
    try:
        check_slice(args.slice_seconds, config)
    except ValueError as exc:
        print(f"sosw-core: --slice-seconds: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = ingest_job(text, config=config, as_of=args.as_of, schemas=schemas,
                        on_page=_progress if (args.progress or sys.stderr.isatty()) else None,
                        slice_seconds=args.slice_seconds)
    note = " (duplicate: the job was submitted before)" if result.get("duplicate") else ""
    print(f"job {result['job_id']}: {result['state']}, {result.get('cursor', 0)}/{result.get('total')} "
          f"tasks, {result['written']} written now{note}")
    return 0 if result["state"] in (IngestStatus.DONE, IngestStatus.INGESTING) else 1


def _send(args: argparse.Namespace, text: str, config: SoswConfig, schemas: dict[str, dict]) -> int:
    import boto3

    client = boto3.client("lambda", region_name=args.region) if args.region else boto3.client("lambda")
    sent = submit_job(text, function_name=args.async_lambda, client=client, config=config, schemas=schemas)
    print(f"job {sent.job_id}: sent to {sent.function_name} ({sent.tasks} tasks; status "
          f"{sent.status_code}, request {sent.request_id}); see `sosw-core status` for its tasks")
    return 0

"""``sosw-core submit JOB.json``: ingest a job into the tasks table, or send it to the Scheduler Lambda.

In-process (default): the Scheduler's own :class:`~sosw_core.services.ingest.Ingestor` runs
here against the target DynamoDB (``--local``, ``--endpoint-url`` or AWS). Like the Lambda, it
works in invocations of a bounded length (``--slice-seconds``): each one reads the clock once,
holds the job's lease, and hands over to the next one, which this command runs itself.

``--async-lambda FUNCTION`` instead invokes the deployed Scheduler asynchronously with the job.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.adapters.dynamodb.job_store import JobStore
from sosw_core.cli.plan import EXIT_INVALID_JOB, read_job
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.clock import SystemClock
from sosw_core.errors import InvalidJob
from sosw_core.services.ingest import Ingestor, PageDone, load_schemas

LOCAL_ENDPOINT = "http://127.0.0.1:8000"  # where `python -m sosw_core.local.dynamodb_local run` listens
MAX_ASYNC_EVENT_BYTES = 1024 * 1024  # Lambda's limit for an asynchronous invocation's payload


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
                        help="invoke this Scheduler Lambda asynchronously with the job instead")
    parser.add_argument("--progress", action="store_true",
                        help="print a line per page to stderr (default: when stderr is a terminal)")
    parser.add_argument("--slice-seconds", type=float, default=600.0,
                        help="length of one in-process invocation before it hands over (default 600)")
    parser.set_defaults(func=run)


class _Slice:
    """A Lambda-like context for one in-process invocation: ``seconds`` long from its creation."""

    def __init__(self, seconds: float):
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Continuations:
    """An invoker that queues continuation events for this process to run next."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        self.pending.append(event)


def _progress(page: PageDone) -> None:
    print(f"{page.job_id}: {page.cursor}/{page.total} tasks ({page.written} written by this "
          f"invocation, {page.skipped} existed)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        text = read_job(args.job)
    except OSError as exc:
        print(f"sosw-core: {args.job}: cannot read the job: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    if args.async_lambda:
        return _send(args, text)
    if args.local and not args.endpoint_url:
        args.endpoint_url = os.environ.get("SOSW_DYNAMODB_ENDPOINT") or LOCAL_ENDPOINT
    config = config_from_args(args, component="scheduler")
    store = open_store(config)
    folder = Path(args.config_dir) if args.config_dir else Path("config")
    continuations = _Continuations()
    ingestor = Ingestor(config, JobStore(store.models, endpoint=config.dynamodb.endpoint_url),
                        store.batch, continuations, SystemClock(),
                        schemas=load_schemas(folder / "schemas"),
                        on_page=_progress if (args.progress or sys.stderr.isatty()) else None)
    written = 0
    try:
        result = ingestor.handle(text, _Slice(args.slice_seconds), as_of=args.as_of)
        written += result.get("written", 0)
        while result.get("state") == "continued" and continuations.pending:
            result = ingestor.handle(continuations.pending.pop(0), _Slice(args.slice_seconds))
            written += result.get("written", 0)
    except InvalidJob as exc:
        print(f"sosw-core: {exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    note = " (duplicate: the job was submitted before)" if result.get("duplicate") else ""
    print(f"job {result['job_id']}: {result['state']}, {result.get('cursor', 0)}/{result.get('total')} "
          f"tasks, {written} written now{note}")
    return 0 if result["state"] in ("done", "ingesting") else 1


def _send(args: argparse.Namespace, text: str) -> int:
    import boto3

    try:
        json.loads(text)
    except ValueError as exc:
        print(f"sosw-core: job: is not valid JSON: {exc}", file=sys.stderr)
        return EXIT_INVALID_JOB
    if len(text.encode()) > MAX_ASYNC_EVENT_BYTES:
        print(f"sosw-core: job: is {len(text.encode())} bytes; an asynchronous Lambda event may "
              f"have {MAX_ASYNC_EVENT_BYTES}", file=sys.stderr)
        return EXIT_INVALID_JOB
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile
    client = boto3.client("lambda", region_name=args.region) if args.region else boto3.client("lambda")
    response = client.invoke(FunctionName=args.async_lambda, InvocationType="Event", Payload=text.encode())
    request_id = response.get("ResponseMetadata", {}).get("RequestId", "")
    print(f"sent to {args.async_lambda} (status {response.get('StatusCode')}, request {request_id}); "
          "see `sosw-core status` for its tasks")
    return 0

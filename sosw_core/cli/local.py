"""``sosw-core local up``: DynamoDB Local, tables and the whole runtime, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.errors import SoswError
from sosw_core.local.dynamodb_local import DynamoDBLocalError, start

DEFAULT_PORT = 8000  # where `sosw-core submit --local` and the docs look


def register(sub: argparse._SubParsersAction) -> None:
    local = sub.add_parser("local", help="run a local deployment (DynamoDB Local + runtime)",
                           description="Local deployment commands.")
    local_sub = local.add_subparsers(dest="local_command", metavar="SUBCOMMAND", required=True)
    up = local_sub.add_parser(
        "up", help="start DynamoDB Local, create the tables and run the runtime until Ctrl-C",
        description="Start DynamoDB Local (unless --endpoint-url is given), create the configured "
                    "tables, and run the Orchestrator, Scavenger and WorkerAssistant with every "
                    "labourer's handler in this process. Prints a 'ready' line with the endpoint, "
                    "then a status line every --report-every seconds on stderr. Ctrl-C (or SIGTERM) "
                    "stops dispatching, lets running workers finish and report, and exits 0.")
    add_target_arguments(up)
    up.add_argument("--port", type=int, default=DEFAULT_PORT,
                    help=f"port for the DynamoDB Local started here (default {DEFAULT_PORT})")
    up.add_argument("--worker", action="append", default=[], metavar="LABOURER=MODULE:ATTR",
                    help="the handler (a Worker subclass or a function) for a labourer; repeatable. "
                         "Default: workers/<labourer>/handler.py:lambda_handler")
    up.add_argument("--tick", type=float, default=1.0,
                    help='seconds between orchestrator ticks and scavenger sweeps (default 1.0)')
    up.add_argument("--report-every", type=float, default=10.0, metavar="SECONDS",
                    help="print a status line this often (default 10; 0: never)")
    up.add_argument("--drain", type=float, default=30.0, metavar="SECONDS",
                    help="on stop, wait this long for running workers to report (default 30)")
    up.set_defaults(func=run_up)


def _workers(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        labourer_id, sep, target = spec.partition("=")
        if not sep or not labourer_id or not target:
            raise SoswError(f"--worker {spec!r}: expected LABOURER=module:attribute")
        out[labourer_id] = target
    return out


def run_up(args: argparse.Namespace) -> int:
    from sosw_core.local.up import LocalDeployment, resolve_handlers

    ddb = None
    if args.endpoint_url is None:
        try:
            ddb = start(port=args.port)
        except DynamoDBLocalError as exc:
            raise SoswError(f"{exc} (is port {args.port} taken? pass --port, or --endpoint-url "
                            "to use a running DynamoDB)") from exc
        args.endpoint_url = ddb.endpoint
    stopping = threading.Event()

    def stop(signum, frame) -> None:
        stopping.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C forces the exit

    # Installed explicitly: a process started in the background by a script inherits SIGINT
    # ignored, and Ctrl-C must still stop it cleanly.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        config = config_from_args(args)
        deployment = LocalDeployment(config, resolve_handlers(config, _workers(args.worker)),
                                     tick_seconds=args.tick, drain_seconds=args.drain)
        created = deployment.start()
        labourers = ", ".join(lab.id for lab in config.labourers)
        print(f"ready: DynamoDB at {args.endpoint_url}; tables {config.tables.tasks}, {config.tables.jobs}"
              f"{' (created)' if created else ''}; labourers {labourers}. Ctrl-C stops.", flush=True)
        _wait(deployment, stopping, args.report_every)
        print("stopping: no new dispatches; waiting for running workers ...", file=sys.stderr, flush=True)
        deployment.stop()
        _status_line(deployment, "stopped")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if ddb is not None:
            ddb.stop()


def _wait(deployment, stopping: threading.Event, report_every: float) -> None:
    last = time.monotonic()
    while not stopping.wait(0.2):
        if report_every and time.monotonic() - last >= report_every:
            last = time.monotonic()
            _status_line(deployment, "running")


def _status_line(deployment, word: str) -> None:
    parts = [f"{lab}: " + (" ".join(f"{n} {state}" for state, n in counts.items() if n) or "no tasks")
             for lab, counts in deployment.counts().items()]
    print(f"[{word}] " + (" | ".join(parts) or "no tasks"), file=sys.stderr, flush=True)

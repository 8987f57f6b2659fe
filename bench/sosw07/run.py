"""Run one workload on sosw 0.7.51 against DynamoDB Local and print one JSON line.

Runs in the sosw 0.7.51 venv, from the repository root:

    PYTHONPATH=. .venv-sosw07/bin/python bench/sosw07/run.py --endpoint URL --workload ingest --size 200

DynamoDB requests go to URL; every other AWS call is answered by bench.fake_aws and recorded.
A failure inside sosw is reported as ``"error"`` in the JSON line (traceback on stderr), not patched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from importlib.metadata import version
from typing import Any

WORKLOAD_NAMES = ("ingest", "dispatch", "lifecycle", "idle", "short_tasks")


def configure_environment(endpoint: str) -> None:
    """Point DynamoDB at DynamoDB Local, use fake credentials, and keep sosw out of its test mode."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "STAGE", "autotest"):
        os.environ.pop(name, None)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="DynamoDB Local URL")
    parser.add_argument("--workload", required=True, choices=WORKLOAD_NAMES)
    parser.add_argument("--size", type=int, required=True, help="tasks (labourers for idle)")
    parser.add_argument("--minute-seconds", type=float, default=2.0,
                        help="length of sosw's one-minute schedule in short_tasks (default 2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment(args.endpoint)

    from bench.fake_aws import FakeAws
    from bench.meter import Meter

    fakes = FakeAws()
    meter = Meter(args.endpoint, fakes)
    meter.install()  # before sosw creates any client

    import boto3

    from bench.sosw07 import tables
    from bench.sosw07.workloads import WORKLOADS, Env

    client = boto3.client("dynamodb")
    tables.create_tables(client)
    line: dict[str, Any]
    try:
        line = WORKLOADS[args.workload](Env(client, meter, fakes, args.minute_seconds), args.size)
    except Exception as exc:  # noqa: BLE001 - a sosw failure is a result to record, with its traceback
        traceback.print_exc()
        line = {"workload": args.workload, "tasks": args.size, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        meter.stop()
        tables.drop_tables(client)
    line.update(side="sosw07", size=args.size, sosw_version=version("sosw"))
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ingestion ceiling of this machine: BatchWriteItem of 25 ~500-byte items via plain boto3.

Writes ``--size`` items from 1 thread, then ``--size`` other items from 4 threads, into one
on-demand table on DynamoDB Local, and prints one JSON line (see bench/ours/README.md) with
``items_per_s_1_thread`` and ``items_per_s_4_threads``. Runs in our venv:

    PYTHONPATH=. .venv/bin/python bench/raw_limit.py --endpoint URL --size 20000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bench.meter import Meter, report

BATCH = 25
ITEM_BYTES = 500
THREADS = (1, 4)


def make_items(count: int, tag: str) -> list[dict[str, Any]]:
    """Items of about ITEM_BYTES bytes (names and values together)."""
    filler = "x" * (ITEM_BYTES - len("pk") - 32 - len("data") - len("n") - 8)
    return [{"pk": {"S": f"{tag}{i:08d}{uuid.uuid4().hex[:32 - len(tag) - 8]}"},
             "n": {"N": str(i)}, "data": {"S": filler}} for i in range(count)]


def write_batch(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    pending: dict[str, list[dict]] = {table: [{"PutRequest": {"Item": item}} for item in items]}
    delay = 0.05
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if pending:
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def write_all(client: Any, table: str, items: list[dict[str, Any]], threads: int) -> float:
    """Write ``items`` in batches of 25 from ``threads`` threads; return the seconds it took."""
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    started = time.perf_counter()
    if threads == 1:
        for batch in batches:
            write_batch(client, table, batch)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda batch: write_batch(client, table, batch), batches))
    return time.perf_counter() - started


def run(endpoint: str, size: int) -> dict[str, Any]:
    meter = Meter(endpoint)
    meter.install()
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})
    try:
        seconds: dict[int, float] = {}
        meter.start()
        for threads in THREADS:
            items = make_items(size, f"t{threads}")
            seconds[threads] = write_all(client, table, items, threads)
        meter.stop()
    finally:
        client.delete_table(TableName=table)
    rates = {threads: round(size / s, 1) for threads, s in seconds.items()}
    line = report("raw_limit", size * len(THREADS), sum(seconds.values()), meter,
                  items_per_s_1_thread=rates[1], items_per_s_4_threads=rates[4],
                  seconds_1_thread=round(seconds[1], 3), seconds_4_threads=round(seconds[4], 3),
                  item_bytes=ITEM_BYTES, batch=BATCH)
    line["tasks_per_s"] = rates[1]
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--size", type=int, default=20_000, help="items per thread setting")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    line = run(args.endpoint, args.size)
    line.update(side="raw", size=args.size)
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

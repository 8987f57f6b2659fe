"""The ingestion ceiling of this machine: BatchWriteItem of 25 ~500-byte items via plain boto3.

Writes ``--size`` items from 1 thread, then ``--size`` other items from 4 threads, into one
on-demand table on DynamoDB Local, and prints one JSON line (see bench/ours/README.md) with
``items_per_s_1_thread`` and ``items_per_s_4_threads`` (the goal's reference).

Two more settings, 4 threads each, say where the rest of the gap to the Ingestor comes from
(they are not part of the reference):

* ``indexed_items_per_s_4_threads``: the same ~500-byte items into a table with the tasks
  table's key and three indexes, each item also in the queue index (as a fresh task is);
* ``task_rows_per_s_4_threads``: sosw-core's own task rows (``sosw_core.adapters.dynamodb.batch.new_item``,
  built beforehand) into a real tasks table: the ceiling for exactly what the Ingestor writes.

Runs in our venv:

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
QUEUE_SK_BYTES = 80  # ~ "1#<15 digits>#<task id>": taken from the filler so items stay ~500 bytes


def make_items(count: int, tag: str) -> list[dict[str, Any]]:
    """Items of about ITEM_BYTES bytes (names and values together)."""
    filler = "x" * (ITEM_BYTES - len("pk") - 32 - len("data") - len("n") - 8)
    return [{"pk": {"S": f"{tag}{i:08d}{uuid.uuid4().hex[:32 - len(tag) - 8]}"},
             "n": {"N": str(i)}, "data": {"S": filler}} for i in range(count)]


def indexed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items keyed like task rows (``task_id``) and in the queue index, still ~500 bytes."""
    out = []
    for i, item in enumerate(items):
        key = item["pk"]["S"]
        out.append({"task_id": {"S": key}, "n": item["n"], "queue_pk": {"S": "bench_worker_0"},
                    "queue_sk": {"S": f"1#{1_700_000_000_000 + i:015d}#{key}"[:QUEUE_SK_BYTES]},
                    "data": {"S": item["data"]["S"][:-(QUEUE_SK_BYTES + 16)]}})
    return out


def task_rows(count: int, tag: str) -> list[dict[str, Any]]:
    """sosw-core task rows as the Ingestor sends them (payloads of sosw's ingest job)."""
    from sosw_core.adapters.dynamodb.batch import ItemFactory
    from sosw_core.domain.task import encode_payload

    make = ItemFactory(time.time())
    job_id = f"raw{tag}{uuid.uuid4().hex[:12]}"
    return [make(f"{job_id}_{i:07d}", "bench_worker_0", job_id,
                 encode_payload({"isolate_sections": True, "sections": [f"section_{i:06d}"]}))
            for i in range(count)]


def tasks_table(endpoint: str) -> tuple[Any, str]:
    """An empty tasks table created from sosw-core's models (same key and indexes), and its client."""
    from sosw_core.adapters.dynamodb import build_models, create_tables
    from sosw_core.config.model import DynamoDBConfig, TablesConfig

    name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    models = build_models(TablesConfig(tasks=f"{name}_tasks", jobs=f"{name}_jobs"),
                          DynamoDBConfig(endpoint_url=endpoint, region="us-east-1"))
    create_tables(models)
    return models, models.task.Meta.table_name


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
    line.update(breakdown(endpoint, size))
    return line


def breakdown(endpoint: str, size: int) -> dict[str, Any]:
    """The two 4-thread settings of the docstring, unmetered (the reference run is metered)."""
    figures: dict[str, Any] = {}
    for name, build in (("indexed_items", lambda: indexed(make_items(size, "ix"))),
                        ("task_rows", lambda: task_rows(size, "tr"))):
        models, table = tasks_table(endpoint)
        local = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id=models.task.Meta.aws_access_key_id,
                             aws_secret_access_key=models.task.Meta.aws_secret_access_key)
        items = build()
        try:
            seconds = write_all(local, table, items, 4)
        finally:
            for model in models.all:
                model.delete_table()
        figures[f"{name}_per_s_4_threads"] = round(size / seconds, 1)
        figures[f"{name}_bytes"] = round(sum(map(item_bytes, items[:100])) / min(size, 100))
    return figures


def item_bytes(value: Any) -> int:
    """An item's size roughly as DynamoDB counts it: names plus values (+3 per list/map element)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N", "B", "BOOL", "NULL"):
        return len(str(next(iter(value.values()))).encode())
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("L", "M"):
        inner = next(iter(value.values()))
        elements = inner.values() if isinstance(inner, dict) else inner
        names = sum(len(key.encode()) for key in inner) if isinstance(inner, dict) else 0
        return 3 + names + sum(3 + item_bytes(element) for element in elements)
    return sum(len(key.encode()) + item_bytes(element) for key, element in value.items())


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

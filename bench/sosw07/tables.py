"""The DynamoDB tables sosw 0.7.51 expects, as in its published template.

Source: sosw's ``examples/yaml/initial/sosw-dev-shared-dynamodb.yaml`` (tasks, closed tasks, retry
tasks, tasks meta) and its ``config`` table (env, config_name). The template provisions 2-3
capacity units per table; here every table is on demand (PAY_PER_REQUEST), because sosw's
Scheduler sleeps ``1 / WriteCapacityUnits`` seconds per task on a provisioned table and we want to
measure its code, not that throttle (see bench/README.md).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

TASKS = "sosw_tasks"
CLOSED = "sosw_closed_tasks"
RETRY = "sosw_retry_tasks"
META = "sosw_tasks_meta"
CONFIG = "config"

GREENFIELD_STEP = 1000  # TaskManager.DEFAULT_CONFIG['greenfield_task_step']


def _attrs(**types: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]


def _key(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


TABLES: dict[str, dict[str, Any]] = {
    TASKS: {
        "AttributeDefinitions": _attrs(task_id="S", labourer_id="S", greenfield="N"),
        "KeySchema": _key("task_id"),
        "GlobalSecondaryIndexes": [{"IndexName": "sosw_tasks_greenfield",
                                    "KeySchema": _key("labourer_id", "greenfield"),
                                    "Projection": {"ProjectionType": "ALL"}}],
    },
    CLOSED: {
        "AttributeDefinitions": _attrs(task_id="S", labourer_id_task_status="S", closed_at="N"),
        "KeySchema": _key("task_id"),
        "GlobalSecondaryIndexes": [{"IndexName": "labourer_task_status_with_time",
                                    "KeySchema": _key("labourer_id_task_status", "closed_at"),
                                    "Projection": {"ProjectionType": "INCLUDE",
                                                   "NonKeyAttributes": ["completed_at", "greenfield",
                                                                        "attempts"]}}],
    },
    RETRY: {
        "AttributeDefinitions": _attrs(labourer_id="S", task_id="S", desired_launch_time="N"),
        "KeySchema": _key("labourer_id", "task_id"),
        "LocalSecondaryIndexes": [{"IndexName": "labourer_id_greenfield",
                                   "KeySchema": _key("labourer_id", "desired_launch_time"),
                                   "Projection": {"ProjectionType": "ALL"}}],
    },
    META: {
        "AttributeDefinitions": _attrs(task_id="S", created_at="N"),
        "KeySchema": _key("task_id", "created_at"),
    },
    CONFIG: {
        "AttributeDefinitions": _attrs(env="S", config_name="S"),
        "KeySchema": _key("env", "config_name"),
    },
}


def drop_tables(client: Any) -> None:
    existing = set(client.list_tables()["TableNames"])
    for name in TABLES:
        if name in existing:
            client.delete_table(TableName=name)


def create_tables(client: Any) -> None:
    """Create sosw's tables afresh (dropping leftovers of an earlier run first)."""
    drop_tables(client)
    for name, definition in TABLES.items():
        client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **definition)
    for name in TABLES:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})


def queued_rows(labourer_id: str, count: int, payload: dict[str, Any] | None = None) -> Iterator[dict]:
    """Rows as sosw's TaskManager.create_task writes them: greenfield 2000, 3000, ... per labourer."""
    body = json.dumps(payload or {"noop": True})
    for i in range(count):
        yield {"task_id": {"S": uuid.uuid1().hex}, "labourer_id": {"S": labourer_id},
               "created_at": {"N": repr(time.time())}, "attempts": {"N": "0"},
               "greenfield": {"N": str(2 * GREENFIELD_STEP + i * GREENFIELD_STEP)},
               "payload": {"S": body}}


def batch_put(client: Any, table: str, rows: Iterable[dict]) -> int:
    """Seed rows with BatchWriteItem (25 at a time, unprocessed items retried)."""
    written = 0
    batch: list[dict] = []
    for row in rows:
        batch.append({"PutRequest": {"Item": row}})
        if len(batch) == 25:
            written += _write(client, table, batch)
            batch = []
    if batch:
        written += _write(client, table, batch)
    return written


def _write(client: Any, table: str, batch: list[dict]) -> int:
    pending: dict[str, list[dict]] = {table: batch}
    delay = 0.05
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if pending:
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    return len(batch)


def count_rows(client: Any, table: str) -> int:
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += page["Count"]
    return total

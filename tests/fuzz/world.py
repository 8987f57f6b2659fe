"""Real tasks in every state, made through the store's own transitions, and row snapshots.

Shared by the event fuzz tests and ``tests/unit/test_security.py``: reports are forged against
these tasks, and "no state change" is checked by comparing every attribute of every row of
the tasks table before and after (a consistent Scan), not by asking the code.
"""

from __future__ import annotations

from typing import Any

import boto3

from sosw_core.adapters.dynamodb import Store
from sosw_core.config import SoswConfig
from sosw_core.domain.task import NewTask, Task
from tests.support import labourer

T0 = 1_700_000_000.0
LABOURERS = (labourer("w", max_attempts=3), labourer("v", max_attempts=2))  # every fuzzed deployment's labourers
_CLIENTS: dict[int, Any] = {}


def _claimed(store: Store, config: SoswConfig, task_id: str, labourer_id: str, now: float) -> Task:
    store.tasks.create(NewTask(task_id, labourer_id, {"n": task_id}), now)
    task = store.tasks.claim(task_id, 0, config.labourer(labourer_id), now)
    assert task is not None
    return task


def _fail(store: Store, config: SoswConfig, task: Task, now: float) -> Task:
    store.tasks.fail(task.task_id, task.token, task.attempts, config.labourer(task.labourer_id), now,
                     error_type="ValueError", message="boom")
    return store.tasks.get(task.task_id)


def _retry(store: Store, config: SoswConfig, task: Task, now: float) -> Task:
    """Fail the current attempt, let the backoff pass, queue it again and claim it again."""
    failed = _fail(store, config, task, now)
    store.tasks.requeue(task.task_id, task.labourer_id, failed.deadline_at, failed.deadline_at,
                        attempt=task.attempts)
    claimed = store.tasks.claim(task.task_id, task.attempts, config.labourer(task.labourer_id),
                                failed.deadline_at)
    assert claimed is not None
    return claimed


def tasks_in_every_state(store: Store, config: SoswConfig, prefix: str, now: float = T0) -> dict[str, Task]:
    """``queued``, ``invoked`` (attempt 1), ``invoked_again`` (attempt 2), ``retrying``,
    ``completed`` and ``dead`` tasks of labourer ``w``, and an ``invoked`` one of ``v``."""
    store.tasks.create(NewTask(f"{prefix}-queued", "w", {"n": 1}), now)
    invoked = _claimed(store, config, f"{prefix}-invoked", "w", now)
    again = _retry(store, config, _claimed(store, config, f"{prefix}-again", "w", now), now)
    retrying = _fail(store, config, _claimed(store, config, f"{prefix}-retrying", "w", now), now)
    completed = _claimed(store, config, f"{prefix}-completed", "w", now)
    store.tasks.complete(completed.task_id, completed.token, 1, now)
    dead = _claimed(store, config, f"{prefix}-dead", "w", now)
    for _ in range(config.labourer("w").max_attempts - 1):
        dead = _retry(store, config, dead, now)
    _fail(store, config, dead, now)
    other = _claimed(store, config, f"{prefix}-other-labourer", "v", now)
    tasks = {"queued": store.tasks.get(f"{prefix}-queued"), "invoked": invoked, "invoked_again": again,
             "retrying": retrying, "completed": store.tasks.get(completed.task_id),
             "dead": store.tasks.get(dead.task_id), "other_labourer": other}
    assert [t.state.value for t in tasks.values()] == ["queued", "invoked", "invoked", "retrying", "completed",
                                                      "dead", "invoked"]
    return tasks


def snapshot(store: Store) -> dict[str, dict[str, Any]]:
    """Every row of the tasks table, every attribute as DynamoDB holds it (consistent Scan)."""
    if id(store) not in _CLIENTS:  # one client per store: creating a boto3 client is the slow part
        meta = store.models.task.Meta  # DynamoDB Local: the store's own region and key pair
        # the store is kept with its client, so that its id is never reused by another store
        _CLIENTS[id(store)] = store, boto3.client(
            "dynamodb", endpoint_url=store.tasks.endpoint, region_name=getattr(meta, "region", None),
            aws_access_key_id=getattr(meta, "aws_access_key_id", None),
            aws_secret_access_key=getattr(meta, "aws_secret_access_key", None))
    client = _CLIENTS[id(store)][1]
    rows: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=store.models.task.Meta.table_name,
                                                        ConsistentRead=True):
        rows.update({item["task_id"]["S"]: item for item in page["Items"]})
    return rows

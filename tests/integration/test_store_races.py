"""Races, throttling and outages against the real emulator (DynamoDB Local)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from devtools.faults import ThrottleInjector
from devtools.metering import RequestMeter
from sosw_core.adapters.dynamodb import open_store
from sosw_core.config import DynamoDBConfig
from sosw_core.domain.task import NewTask, TaskState
from sosw_core.errors import StoreUnavailable
from sosw_core.local.dynamodb_local import free_port
from tests.support import count_rows, labourer, make_config

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0


def test_eight_claimers_claim_each_of_100_tasks_exactly_once(local_store):
    lab = labourer("w")
    local_store.batch.create_many([NewTask(f"t{i:03d}", "w", {"i": i}) for i in range(100)], T0)
    claimed: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def claimer(slot: int) -> None:
        start.wait()
        idle = 0
        while idle < 3:
            refs = local_store.queries.next_queued("w", 5)
            idle = idle + 1 if not refs else 0
            for ref in refs:
                task = local_store.tasks.claim(ref.task_id, ref.attempts, lab, T0 + 1)
                if task is not None:
                    claimed[slot].append(task.task_id)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    everything = [tid for slot in claimed for tid in slot]
    assert Counter(everything) == Counter(f"t{i:03d}" for i in range(100))  # each exactly once
    rows = list(local_store.models.task.scan())
    assert len(rows) == 100
    assert all(r.state == TaskState.INVOKED.value and r.attempts == 1 for r in rows)
    assert sum(r.attempts for r in rows) == len(everything)
    assert sum(1 for slot in claimed if slot) > 1  # the threads really competed


def test_throttled_requests_are_retried_not_dropped(local_store):
    with RequestMeter(local_store.models) as meter, \
            ThrottleInjector(local_store.models, first_n=2) as faults:
        assert local_store.tasks.create(NewTask("a", "w", {}), T0)
    assert faults.injected == 2
    assert meter.requests["PutItem"] == 3  # two throttled, the third accepted
    assert count_rows(local_store) == 1


def test_throttled_batch_writes_end_with_every_task_written(local_store):
    with ThrottleInjector(local_store.models, rate=0.3, seed=7,
                          operations=frozenset({"BatchWriteItem", "BatchGetItem"})) as faults:
        result = local_store.batch.create_many([NewTask(f"t{i}", "w", {}) for i in range(200)], T0)
    assert faults.injected > 0
    assert result.created == 200
    assert count_rows(local_store) == 200


def test_unreachable_dynamodb_is_one_clear_error():
    config = make_config(f"http://127.0.0.1:{free_port()}")
    config = type(config)(**{**config.__dict__, "dynamodb": DynamoDBConfig(
        endpoint_url=config.dynamodb.endpoint_url, max_retry_attempts=0)})
    store = open_store(config)
    with pytest.raises(StoreUnavailable, match="cannot reach DynamoDB at http://127.0.0.1"):
        store.tasks.get("x")


def test_missing_table_is_one_clear_error(dynamodb_local):
    store = open_store(make_config(dynamodb_local))
    with pytest.raises(StoreUnavailable, match="does not exist.*sosw-core tables create"):
        store.tasks.create(NewTask("a", "w", {}), T0)

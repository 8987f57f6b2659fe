"""Pure task rules: backoff, failure decisions, queue order, validation."""

from __future__ import annotations

import random

import pytest

from sosw_core.config import Backoff
from sosw_core.domain.task import (
    MAX_PAYLOAD_BYTES,
    NewTask,
    TaskState,
    after_failure,
    queue_sort_key,
    retention_expiry,
    retry_delay,
)
from sosw_core.errors import InvalidTask


def test_backoff_is_exponential_and_capped_without_jitter():
    b = Backoff(base_seconds=2, factor=3, cap_seconds=50, jitter=0)
    assert [retry_delay(b, n) for n in range(1, 6)] == [2, 6, 18, 50, 50]


def test_jitter_stays_within_its_fraction_and_spreads():
    b = Backoff(base_seconds=100, factor=1, cap_seconds=100, jitter=0.5)
    rng = random.Random(1)
    delays = [retry_delay(b, 1, rng) for _ in range(200)]
    assert all(50 <= d <= 100 for d in delays)
    assert max(delays) - min(delays) > 30


def test_full_jitter_can_reach_zero_delay_range():
    b = Backoff(base_seconds=10, factor=2, cap_seconds=1000, jitter=1)
    delays = [retry_delay(b, 3, random.Random(i)) for i in range(100)]
    assert all(0 <= d <= 40 for d in delays) and min(delays) < 5


def test_attempt_numbers_start_at_one():
    with pytest.raises(ValueError):
        retry_delay(Backoff(), 0)


def test_after_failure_retries_until_the_last_attempt():
    b = Backoff(base_seconds=10, factor=2, jitter=0)
    first = after_failure(attempts=1, max_attempts=3, backoff=b, now=100)
    second = after_failure(attempts=2, max_attempts=3, backoff=b, now=100)
    last = after_failure(attempts=3, max_attempts=3, backoff=b, now=100)
    assert (first.state, first.due_at) == (TaskState.RETRYING, 110)
    assert (second.state, second.due_at) == (TaskState.RETRYING, 120)
    assert (last.state, last.due_at) == (TaskState.DEAD, None)


def test_queue_order_puts_due_retries_before_fresh_tasks_and_fresh_in_fifo():
    fresh_old = queue_sort_key(created_at=100.0, task_id="b")
    fresh_new = queue_sort_key(created_at=200.5, task_id="a")
    retry_late = queue_sort_key(created_at=50.0, task_id="z", due_at=10_000.0)
    assert sorted([fresh_new, retry_late, fresh_old]) == [retry_late, fresh_old, fresh_new]
    assert queue_sort_key(created_at=9.999, task_id="x") < queue_sort_key(created_at=10.0, task_id="a")


def test_retention():
    assert retention_expiry(1000.0, None) is None
    assert retention_expiry(1000.0, 1) == 1000 + 86400


@pytest.mark.parametrize("task_id", ["", "has space", "slash/no", "x" * 201, 7])
def test_bad_task_ids_are_refused(task_id):
    with pytest.raises(InvalidTask, match="task_id"):
        NewTask(task_id, "w", {})


def test_payload_must_be_a_json_object_within_the_limit():
    with pytest.raises(InvalidTask, match="payload: must be a JSON object"):
        NewTask("a", "w", ["list"])
    with pytest.raises(InvalidTask, match="JSON-serialisable"):
        NewTask("a", "w", {"x": object()})
    with pytest.raises(InvalidTask, match=f"limit is {MAX_PAYLOAD_BYTES}"):
        NewTask("a", "w", {"x": "y" * MAX_PAYLOAD_BYTES})
    with pytest.raises(InvalidTask, match="labourer_id"):
        NewTask("a", "", {})
    assert NewTask("a:b-c.d_e", "w", {"n": 1.5}).payload_json == '{"n":1.5}'

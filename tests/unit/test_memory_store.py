"""What only the memory store has: no AWS imports, the item codec, TTL by hand, shared tables.

Its behaviour as a store (guards, outcomes, errors, races) is the contract in tests/contract,
run on memory, moto and DynamoDB Local alike.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from sosw_core.adapters.dynamodb.batch import ItemFactory
from sosw_core.adapters.memory import ItemTooLarge, MemoryTables, open_memory_store
from sosw_core.adapters.memory.items import decode_item, encode_item
from sosw_core.config import RetentionConfig
from sosw_core.domain.outcomes import QueuedRef
from sosw_core.domain.task import NewTask, TaskState
from tests.support import count_rows, labourer, make_config

T0 = 1_700_000_000.0
W = labourer("w")


def test_importing_it_loads_no_aws_library():
    code = ("import sys, sosw_core.adapters.memory\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'pynamodb', 'moto')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_its_new_rows_are_the_schedulers_items():
    store = open_memory_store(make_config(None))
    new = NewTask("t-1", "w", {"b": [1, 2.5], "a": {"x": None, "y": True}}, "job")
    ours = store.tasks.new_row(new, T0)
    theirs = ItemFactory(T0)(new.task_id, new.labourer_id, new.job_id, new.payload_json)
    assert ours.pop("token") != theirs.pop("token")  # random per row
    assert ours == theirs
    assert encode_item(decode_item(theirs)) == theirs


def test_expired_rows_stay_until_the_ttl_sweep_removes_them():
    config = make_config(None, retention=RetentionConfig(completed_days=1, dead_days=None))
    store = open_memory_store(config)
    store.tasks.create(NewTask("a", "w", {}), T0)
    store.tasks.create(NewTask("b", "w", {}), T0)
    for _ in range(2):
        ref = store.queries.next_queued("w", 1)[0]
        task = store.tasks.claim(ref.task_id, ref.attempts, labourer("w", max_attempts=1), T0 + 1)
        if task.task_id == "a":
            store.tasks.complete("a", task.token, 1, T0 + 2)
        else:
            store.tasks.fail("b", task.token, 1, labourer("w", max_attempts=1), T0 + 2, error_type="E", message="m")
    assert store.tables.purge_expired(T0 + 86_400) == 0  # a's retention ends at T0 + 2 + 1 day
    assert [t.task_id for t in store.queries.closed("w")] == ["b", "a"]  # visible until swept, as on DynamoDB
    assert store.tables.purge_expired(T0 + 2 + 86_400) == 1
    assert store.tasks.find("a") is None and store.tasks.get("b").state is TaskState.DEAD  # dead: kept forever


def test_an_item_past_400_kb_is_refused_with_the_limit_named():
    store = open_memory_store(make_config(None))
    store.tasks.create(NewTask("big", "w", {"blob": "x" * 250_000}), T0)
    task = store.tasks.claim("big", 0, W, T0 + 1)
    with pytest.raises(ItemTooLarge, match=r"item 'big' would be 4\d\d,\d{3} bytes; DynamoDB's maximum item "
                                           r"size is 409,600 bytes \(400 KB\)"):
        store.tasks.complete("big", task.token, 1, T0 + 2, result={"r": "y" * 200_000})
    with pytest.raises(ItemTooLarge):
        store.batch.write_rows([ItemFactory(T0)("huge", "w", None, '{"b":"' + "z" * 410_000 + '"}')])
    assert store.tasks.get("big") == task and store.tasks.find("huge") is None


def test_a_hand_off_to_the_task_itself_is_refused_like_a_transaction_naming_one_item_twice():
    store = open_memory_store(make_config(None))
    store.tasks.create(NewTask("a", "w", {}), T0)
    task = store.tasks.claim("a", 0, W, T0 + 1)
    with pytest.raises(ValueError, match="cannot change one item twice"):
        store.tasks.complete_and_claim("a", task.token, 1, W, T0 + 2, QueuedRef("a", 1))
    assert store.tasks.get("a") == task


def test_stores_on_shared_tables_see_one_another_and_fresh_ones_do_not():
    tables = MemoryTables()
    one = open_memory_store(make_config(None), tables=tables)
    two = open_memory_store(make_config(None), tables=tables)
    other = open_memory_store(make_config(None))
    one.tasks.create(NewTask("a", "w", {}), T0)
    assert two.tasks.get("a").task_id == "a" and count_rows(two) == 1
    assert count_rows(other) == 0


def test_a_result_that_is_not_json_is_refused_before_any_write():
    store = open_memory_store(make_config(None))
    store.tasks.create(NewTask("a", "w", {}), T0)
    task = store.tasks.claim("a", 0, W, T0 + 1)
    with pytest.raises(TypeError, match="result: cannot be stored as a DynamoDB map"):
        store.tasks.complete("a", task.token, 1, T0 + 2, result={"when": object()})
    assert store.tasks.get("a") == task

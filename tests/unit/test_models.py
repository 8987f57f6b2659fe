"""The models are declared once; every ``build_models`` call binds its own subclasses.

Two bindings in one process (two configurations, or moto and DynamoDB Local in one test
session) must never reach each other's table, connection or index objects.
"""

from __future__ import annotations

from moto import mock_aws

from sosw_core.adapters.dynamodb import TaskQueries, TaskStore, build_models, create_tables
from sosw_core.adapters.dynamodb.models import (
    CLOSED_INDEX,
    DEADLINE_INDEX,
    QUEUE_INDEX,
    JobModel,
    LeaseModel,
    Models,
    TaskModel,
)
from sosw_core.config import DynamoDBConfig, TablesConfig
from sosw_core.domain.task import NewTask, TaskState
from tests.support import labourer

T0 = 1_700_000_000.0
W = labourer("w")
INDEXES = {QUEUE_INDEX: "queue_index", DEADLINE_INDEX: "deadline_index", CLOSED_INDEX: "closed_index"}


def bind(name: str, endpoint: str | None = None) -> Models:
    return build_models(TablesConfig(tasks=f"tasks_{name}", jobs=f"jobs_{name}"),
                        DynamoDBConfig(endpoint_url=endpoint))


def ids(rows) -> set[str]:
    return {row.task_id for row in rows}


def test_bindings_are_subclasses_with_their_own_table_names():
    a, b = bind("a"), bind("b")
    for models, name in ((a, "a"), (b, "b")):
        assert issubclass(models.task, TaskModel) and models.task is not TaskModel
        assert issubclass(models.job, JobModel) and issubclass(models.lease, LeaseModel)
        assert models.task.Meta.table_name == f"tasks_{name}"
        assert models.job.Meta.table_name == models.lease.Meta.table_name == f"jobs_{name}"
    assert a.task.DoesNotExist is not b.task.DoesNotExist
    # binding never touches the declared classes: they stay without a table
    assert not hasattr(TaskModel, "Meta") and not hasattr(JobModel, "Meta")


def test_each_binding_has_its_own_index_objects_pointing_at_itself():
    a, b = bind("a"), bind("b")
    for index_name, attribute in INDEXES.items():
        index_a, index_b = getattr(a.task, attribute), getattr(b.task, attribute)
        assert index_a is not index_b
        assert index_a is not getattr(TaskModel, attribute)
        assert index_a._model is a.task and index_b._model is b.task
        assert a.task._indexes[index_name] is index_a and b.task._indexes[index_name] is index_b
    assert TaskModel.queue_index._model is TaskModel


def test_same_table_names_on_two_endpoints_never_share_a_connection():
    """moto (AWS endpoint) and DynamoDB Local with the same table names, as in one test session."""
    aws, local = bind("same"), bind("same", endpoint="http://127.0.0.1:8000")
    for on_aws, on_local in zip(aws.connected, local.connected, strict=True):
        assert on_aws._get_connection() is not on_local._get_connection()
    assert aws.task._get_connection().connection.host is None
    assert local.task._get_connection().connection.host == "http://127.0.0.1:8000"
    assert local.task.Meta.aws_access_key_id == "local" and aws.task.Meta.aws_access_key_id is None


def test_two_bindings_query_their_own_tables_indexes():
    """The same task ids in two tables, in different states: each index sees its own table only."""
    with mock_aws():
        a, b = bind("a"), bind("b")
        create_tables(a)
        create_tables(b)
        store_a, store_b = TaskStore(a), TaskStore(b)
        for store in (store_a, store_b):
            for task_id in ("t1", "t2", "t3"):
                assert store.create(NewTask(task_id, "w", {"id": task_id}), T0)
        # in table a: t2 runs, t3 is completed; table b keeps all three queued
        store_a.claim("t2", 0, W, T0 + 1)
        done = store_a.claim("t3", 0, W, T0 + 1)
        assert done is not None
        store_a.complete("t3", done.token, 1, T0 + 2)

        assert ids(a.task.queue_index.query("w")) == {"t1"}
        assert ids(a.task.deadline_index.query("w")) == {"t2"}
        assert ids(a.task.closed_index.query("w")) == {"t3"}
        assert ids(b.task.queue_index.query("w")) == {"t1", "t2", "t3"}
        assert ids(b.task.deadline_index.query("w")) == set()
        assert ids(b.task.closed_index.query("w")) == set()

        queries_a, queries_b = TaskQueries(store_a), TaskQueries(store_b)
        assert (queries_a.count_queued("w"), queries_a.count_running("w")) == (1, 1)
        assert (queries_b.count_queued("w"), queries_b.count_running("w")) == (3, 0)
        assert queries_a.counts("w")[TaskState.COMPLETED] == 1
        assert queries_b.counts("w")[TaskState.COMPLETED] == 0
        assert [t.task_id for t in queries_a.closed("w")] == ["t3"]
        assert list(queries_b.closed("w")) == []

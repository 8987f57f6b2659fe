"""The DynamoDB schema, declared once as pynamodb models.

These classes are the single source of truth: local table creation (``sosw-core tables
create``), the CloudFormation templates' test and the store all derive from them.

Tasks table (hash key ``task_id``) and its three sparse indexes. A task sits in exactly the
index its state needs, so every read an orchestrator or scavenger does is one ``Query``:

============  ==========================  ==========================  ===========================
index         hash key (labourer id)      range key                   holds tasks that are
============  ==========================  ==========================  ===========================
queue         ``queue_pk``                ``queue_sk`` (string, see   QUEUED (runnable)
                                          ``task.queue_sort_key``)
deadline      ``deadline_pk``             ``deadline_at`` (epoch s)   INVOKED (lease end),
                                                                      RETRYING (due time),
                                                                      DEAD with an alert pending
closed        ``closed_pk``               ``closed_at`` (epoch s)     COMPLETED, DEAD
============  ==========================  ==========================  ===========================

Jobs table (hash key ``job_id``): one row per Scheduler job with its ingestion cursor, and one
row per labourer holding the Orchestrator's dispatch lease (key ``#dispatch#<labourer>``; job
ids may not start with ``#``, see :mod:`sosw_core.adapters.dynamodb.dispatch_lease`).

The classes below are declared once, here, without a table: :func:`build_models` binds them to
the configured table names and endpoint by subclassing. Attributes declared ``null=True`` read
as ``None`` when the item lacks them (pynamodb types them without ``None``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, Index
from pynamodb.models import MetaModel, Model

from sosw_core.config.model import DynamoDBConfig, TablesConfig

QUEUE_INDEX = "queue"
DEADLINE_INDEX = "deadline"
CLOSED_INDEX = "closed"

# Throttling (ProvisionedThroughputExceeded, ThrottlingException) is retried by botocore's
# standard retry mode with exponential backoff; pynamodb passes DynamoDBConfig.max_retry_attempts
# to it.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
MAX_POOL_CONNECTIONS = 64  # one client serves every thread (ingest writers, local workers)


class QueueIndex(GlobalSecondaryIndex["TaskModel"]):
    """QUEUED tasks of a labourer, runnable order (due retries first, then FIFO)."""

    class Meta:
        index_name = QUEUE_INDEX
        projection = IncludeProjection(["attempts"])

    queue_pk = UnicodeAttribute(hash_key=True)
    queue_sk = UnicodeAttribute(range_key=True)


class DeadlineIndex(GlobalSecondaryIndex["TaskModel"]):
    """INVOKED (lease end), RETRYING (due time) and alert-pending DEAD tasks of a labourer."""

    class Meta:
        index_name = DEADLINE_INDEX
        projection = IncludeProjection(["state", "attempts"])

    deadline_pk = UnicodeAttribute(hash_key=True)
    deadline_at = NumberAttribute(range_key=True)


class ClosedIndex(GlobalSecondaryIndex["TaskModel"]):
    """COMPLETED and DEAD tasks of a labourer by close time (until their TTL removes them)."""

    class Meta:
        index_name = CLOSED_INDEX
        projection = IncludeProjection(["state", "attempts", "error_type"])

    closed_pk = UnicodeAttribute(hash_key=True)
    closed_at = NumberAttribute(range_key=True)


class TaskModel(Model):
    """One task (unbound: use ``build_models(...).task``)."""

    task_id = UnicodeAttribute(hash_key=True)
    labourer_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    payload = UnicodeAttribute()  # canonical JSON text, see task.encode_payload
    state = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    token = UnicodeAttribute()  # proves a report comes from an invocation of this task
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    queue_pk = UnicodeAttribute(null=True)
    queue_sk = UnicodeAttribute(null=True)
    deadline_pk = UnicodeAttribute(null=True)
    deadline_at = NumberAttribute(null=True)
    closed_pk = UnicodeAttribute(null=True)
    closed_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    error_type = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    result = MapAttribute[str, Any](null=True)
    stats = MapAttribute[str, Any](null=True)
    events = ListAttribute[Any](default=list)  # TaskEvent.to_item() maps, oldest first

    queue_index = QueueIndex()
    deadline_index = DeadlineIndex()
    closed_index = ClosedIndex()


class JobModel(Model):
    """One Scheduler job record (unbound: use ``build_models(...).job``)."""

    job_id = UnicodeAttribute(hash_key=True)
    labourer_id = UnicodeAttribute()
    state = UnicodeAttribute()  # see scheduler ingestion: ingesting / done / failed
    job = JSONAttribute()  # the job as received
    cursor = NumberAttribute(default=0)  # tasks written so far, in plan order
    total = NumberAttribute(null=True)  # known once planning has finished
    owner = UnicodeAttribute(null=True)  # the invocation holding the ingestion lease
    lease_until = NumberAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    error = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    as_of = UnicodeAttribute(null=True)  # the plan's "today" (ISO date): continuations re-plan the same dates
    # the variant's levels at start; pynamodb 6 types ``of`` as the element's Python type, while
    # at runtime it must be the element's Attribute class
    chunkable_attrs = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]


class LeaseModel(Model):
    """A per-labourer dispatch lease, stored beside the job records (same table, same key).

    Unbound: use ``build_models(...).lease``.
    """

    job_id = UnicodeAttribute(hash_key=True)  # "#dispatch#<labourer id>"
    owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    dispatches = NumberAttribute(default=0)  # leases granted so far (for status screens)


@dataclass(frozen=True)
class Models:
    """The model classes of one store, bound to its tables and endpoint (see :func:`build_models`)."""

    task: type[TaskModel]
    job: type[JobModel]
    lease: type[LeaseModel]  # lives in the jobs table: not a table of its own

    @property
    def all(self) -> tuple[type[Model], ...]:
        """One model per table (what ``tables create`` and the templates know)."""
        return (self.task, self.job)

    @property
    def connected(self) -> tuple[type[Model], ...]:
        """Every model with a connection of its own (what meters and fault injectors hook)."""
        return (self.task, self.job, self.lease)


_M = TypeVar("_M", bound=Model)


def _meta(table_name: str, dynamodb: DynamoDBConfig) -> type:
    attrs: dict[str, object] = {
        "table_name": table_name,
        "billing_mode": "PAY_PER_REQUEST",
        "max_retry_attempts": dynamodb.max_retry_attempts,
        "connect_timeout_seconds": CONNECT_TIMEOUT_SECONDS,
        "read_timeout_seconds": READ_TIMEOUT_SECONDS,
        "max_pool_connections": MAX_POOL_CONNECTIONS,
    }
    if dynamodb.region:
        attrs["region"] = dynamodb.region
    if dynamodb.endpoint_url:
        attrs["host"] = dynamodb.endpoint_url
        attrs.setdefault("region", "us-east-1")
        # DynamoDB Local keeps one database per access key and region: every local client uses
        # the same fixed pair so that the CLI, the runtime and the tests see the same tables.
        attrs["aws_access_key_id"] = "local"
        attrs["aws_secret_access_key"] = "local"
    return type("Meta", (), attrs)


def _bind(model: type[_M], meta: type) -> type[_M]:
    """A subclass of ``model`` with its own ``Meta``, connection and index objects.

    pynamodb caches the connection on the class (``_connection``, set on first use) and an
    index finds its table through ``index._model``. The subclass gets fresh index instances in
    its namespace, and pynamodb's ``MetaModel`` then points each at the subclass (6.x copies
    every index it finds and sets ``_model`` on the copy); the base never connects (it has no
    ``Meta``), so nothing of one binding can be reached from another.
    """
    namespace: dict[str, object] = {
        "Meta": meta,
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
    }
    for name, index in inspect.getmembers(model, lambda member: isinstance(member, Index)):
        namespace[name] = type(index)()
    return cast("type[_M]", MetaModel(model.__name__, (model,), namespace))


def build_models(tables: TablesConfig, dynamodb: DynamoDBConfig) -> Models:
    """The model classes bound to the configured table names and endpoint.

    Each call binds new subclasses, so several stores (e.g. one on moto and one on DynamoDB
    Local in the same test session, or two configurations with different table names) never
    share a connection or an index object.
    """
    return Models(task=_bind(TaskModel, _meta(tables.tasks, dynamodb)),
                  job=_bind(JobModel, _meta(tables.jobs, dynamodb)),
                  lease=_bind(LeaseModel, _meta(tables.jobs, dynamodb)))

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
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

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


@dataclass(frozen=True)
class Models:
    task: type[Model]
    job: type[Model]
    lease: type[Model]  # lives in the jobs table: not a table of its own

    @property
    def all(self) -> tuple[type[Model], ...]:
        """One model per table (what ``tables create`` and the templates know)."""
        return (self.task, self.job)

    @property
    def connected(self) -> tuple[type[Model], ...]:
        """Every model with a connection of its own (what meters and fault injectors hook)."""
        return (self.task, self.job, self.lease)


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


def build_models(tables: TablesConfig, dynamodb: DynamoDBConfig) -> Models:
    """Model classes bound to the configured table names and endpoint.

    Built per call (not at import) so that several stores, e.g. one on moto and one on
    DynamoDB Local in the same test session, never share a connection or an index object.
    """

    class QueueIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = QUEUE_INDEX
            projection = IncludeProjection(["attempts"])

        queue_pk = UnicodeAttribute(hash_key=True)
        queue_sk = UnicodeAttribute(range_key=True)

    class DeadlineIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = DEADLINE_INDEX
            projection = IncludeProjection(["state", "attempts"])

        deadline_pk = UnicodeAttribute(hash_key=True)
        deadline_at = NumberAttribute(range_key=True)

    class ClosedIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = CLOSED_INDEX
            projection = IncludeProjection(["state", "attempts", "error_type"])

        closed_pk = UnicodeAttribute(hash_key=True)
        closed_at = NumberAttribute(range_key=True)

    class TaskModel(Model):
        Meta = _meta(tables.tasks, dynamodb)

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
        result = MapAttribute(null=True)
        stats = MapAttribute(null=True)
        events = ListAttribute(default=list)

        queue_index = QueueIndex()
        deadline_index = DeadlineIndex()
        closed_index = ClosedIndex()

    class JobModel(Model):
        Meta = _meta(tables.jobs, dynamodb)

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
        chunkable_attrs = ListAttribute(of=UnicodeAttribute, null=True)  # the variant's levels at start

    class LeaseModel(Model):
        """A per-labourer dispatch lease, stored beside the job records (same table, same key)."""

        Meta = _meta(tables.jobs, dynamodb)

        job_id = UnicodeAttribute(hash_key=True)  # "#dispatch#<labourer id>"
        owner = UnicodeAttribute(null=True)
        lease_until = NumberAttribute(null=True)
        dispatches = NumberAttribute(default=0)  # leases granted so far (for status screens)

    TaskModel.__name__ = TaskModel.__qualname__ = "TaskModel"
    JobModel.__name__ = JobModel.__qualname__ = "JobModel"
    LeaseModel.__name__ = LeaseModel.__qualname__ = "LeaseModel"
    return Models(task=TaskModel, job=JobModel, lease=LeaseModel)

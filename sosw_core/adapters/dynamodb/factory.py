"""Build the DynamoDB store objects from configuration (no I/O: connections open on first use)."""

from __future__ import annotations

from dataclasses import dataclass

from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.adapters.dynamodb.dispatch_lease import DispatchLeases
from sosw_core.adapters.dynamodb.job_document import JobDocuments
from sosw_core.adapters.dynamodb.job_store import JobStore
from sosw_core.adapters.dynamodb.models import Models, build_models
from sosw_core.adapters.dynamodb.queries import TaskQueries
from sosw_core.adapters.dynamodb.task_store import TaskStore
from sosw_core.config.model import SoswConfig


@dataclass(frozen=True)
class Store:
    """Everything the services read and write, on one DynamoDB (tasks table and jobs table)."""

    models: Models
    tasks: TaskStore
    queries: TaskQueries
    batch: BatchCreator
    leases: DispatchLeases
    jobs: JobStore
    documents: JobDocuments


def open_store(config: SoswConfig) -> Store:
    endpoint = config.dynamodb.endpoint_url
    models = build_models(config.tables, config.dynamodb)
    tasks = TaskStore(models, retention=config.retention, endpoint=endpoint)
    return Store(models=models, tasks=tasks, queries=TaskQueries(tasks), batch=BatchCreator(tasks),
                 leases=DispatchLeases(models, endpoint=endpoint),
                 jobs=JobStore(models, endpoint=endpoint),
                 documents=JobDocuments(models.job, endpoint=endpoint))

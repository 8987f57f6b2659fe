"""Build the store objects from configuration (no I/O: connections open on first use)."""

from __future__ import annotations

from dataclasses import dataclass

from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.adapters.dynamodb.dispatch_lease import DispatchLeases
from sosw_core.adapters.dynamodb.models import Models, build_models
from sosw_core.adapters.dynamodb.queries import TaskQueries
from sosw_core.adapters.dynamodb.task_store import TaskStore
from sosw_core.config.model import SoswConfig


@dataclass(frozen=True)
class Store:
    models: Models
    tasks: TaskStore
    queries: TaskQueries
    batch: BatchCreator
    leases: DispatchLeases


def open_store(config: SoswConfig) -> Store:
    models = build_models(config.tables, config.dynamodb)
    tasks = TaskStore(models, retention=config.retention, endpoint=config.dynamodb.endpoint_url)
    return Store(models=models, tasks=tasks, queries=TaskQueries(tasks), batch=BatchCreator(tasks),
                 leases=DispatchLeases(models, endpoint=config.dynamodb.endpoint_url))

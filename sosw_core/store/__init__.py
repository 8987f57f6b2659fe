"""The DynamoDB adapter: models (the schema), the task store, batched creation and queries."""

from sosw_core.store.batch import BatchCreator, BatchIncomplete, CreateResult
from sosw_core.store.dispatch_lease import DispatchLeases
from sosw_core.store.factory import Store, open_store
from sosw_core.store.models import Models, build_models
from sosw_core.store.queries import DueRef, QueuedRef, TaskQueries
from sosw_core.store.tables import create_tables, delete_tables, table_definitions
from sosw_core.store.task_store import Outcome, TaskStore

__all__ = [
    "BatchCreator",
    "BatchIncomplete",
    "CreateResult",
    "DispatchLeases",
    "DueRef",
    "Models",
    "Outcome",
    "QueuedRef",
    "Store",
    "TaskQueries",
    "TaskStore",
    "build_models",
    "create_tables",
    "delete_tables",
    "open_store",
    "table_definitions",
]

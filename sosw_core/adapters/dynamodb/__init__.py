"""The DynamoDB adapter: models (the schema), the task store, batched creation and queries."""

from sosw_core.adapters.dynamodb.batch import BatchCreator
from sosw_core.adapters.dynamodb.dispatch_lease import DispatchLeases
from sosw_core.adapters.dynamodb.factory import Store, open_store
from sosw_core.adapters.dynamodb.models import Models, build_models
from sosw_core.adapters.dynamodb.queries import TaskQueries
from sosw_core.adapters.dynamodb.tables import create_tables, delete_tables, table_definitions
from sosw_core.adapters.dynamodb.task_store import TaskStore

__all__ = [
    "BatchCreator",
    "DispatchLeases",
    "Models",
    "Store",
    "TaskQueries",
    "TaskStore",
    "build_models",
    "create_tables",
    "delete_tables",
    "open_store",
    "table_definitions",
]

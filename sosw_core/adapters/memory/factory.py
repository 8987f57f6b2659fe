"""Build the memory store (everything the services read and write) from configuration."""

from __future__ import annotations

from dataclasses import dataclass

from sosw_core.adapters.memory.batch import MemoryBatchCreator
from sosw_core.adapters.memory.dispatch_lease import MemoryDispatchLeases
from sosw_core.adapters.memory.job_document import MemoryJobDocuments
from sosw_core.adapters.memory.job_store import MemoryJobStore
from sosw_core.adapters.memory.queries import MemoryTaskQueries
from sosw_core.adapters.memory.tables import MemoryTables
from sosw_core.adapters.memory.task_store import MemoryTaskStore
from sosw_core.config.model import SoswConfig


@dataclass(frozen=True)
class MemoryStore:
    """The same parts as the DynamoDB ``Store`` (without ``models``), on tables in memory."""

    tasks: MemoryTaskStore
    queries: MemoryTaskQueries
    batch: MemoryBatchCreator
    leases: MemoryDispatchLeases
    jobs: MemoryJobStore
    documents: MemoryJobDocuments

    @property
    def tables(self) -> MemoryTables:
        """The rows themselves (for tests that count them, and :meth:`~MemoryTables.purge_expired`)."""
        return self.tasks.tables


def open_memory_store(config: SoswConfig, *, tables: MemoryTables | None = None) -> MemoryStore:
    """A store on fresh, empty tables; or on ``tables`` to share them with another store
    (several components of one test seeing the same rows, as they would one DynamoDB)."""
    tables = tables or MemoryTables()
    tasks = MemoryTaskStore(tables, retention=config.retention)
    return MemoryStore(tasks=tasks, queries=MemoryTaskQueries(tasks), batch=MemoryBatchCreator(tasks),
                       leases=MemoryDispatchLeases(tables), jobs=MemoryJobStore(tables),
                       documents=MemoryJobDocuments(tables))

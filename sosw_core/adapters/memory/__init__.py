"""The store in memory: the DynamoDB adapter's API, guards, outcomes and errors, with no AWS.

For tests and local experiments (the models are dramatiq's StubBroker and huey's MemoryHuey):
:func:`open_memory_store` gives a :class:`MemoryStore` with the same ``tasks, queries, batch,
leases, jobs, documents`` as :func:`sosw_core.adapters.dynamodb.open_store`. It is thread-safe:
every guarded write is evaluated and applied under one lock, so races resolve as on DynamoDB
(``tests/contract`` runs the same suite on memory, moto and DynamoDB Local). It imports no
boto3, botocore or pynamodb. Its differences from DynamoDB are listed in :mod:`.tables`.
"""

from sosw_core.adapters.memory.batch import MemoryBatchCreator
from sosw_core.adapters.memory.dispatch_lease import MemoryDispatchLeases
from sosw_core.adapters.memory.factory import MemoryStore, open_memory_store
from sosw_core.adapters.memory.items import MAX_ITEM_BYTES, ItemTooLarge
from sosw_core.adapters.memory.job_document import MemoryJobDocuments
from sosw_core.adapters.memory.job_store import MemoryJobStore
from sosw_core.adapters.memory.queries import MemoryTaskQueries
from sosw_core.adapters.memory.tables import MemoryTables
from sosw_core.adapters.memory.task_store import MemoryTaskStore

__all__ = [
    "MAX_ITEM_BYTES",
    "ItemTooLarge",
    "MemoryBatchCreator",
    "MemoryDispatchLeases",
    "MemoryJobDocuments",
    "MemoryJobStore",
    "MemoryStore",
    "MemoryTables",
    "MemoryTaskQueries",
    "MemoryTaskStore",
    "open_memory_store",
]

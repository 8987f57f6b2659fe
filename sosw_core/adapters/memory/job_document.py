"""Large job bodies in memory: the part items of the DynamoDB ``JobDocuments``, same keys.

How a body is split (inline up to 300 KB, else gzip parts under content-addressed keys) is
decided by the pure ``encode`` the Scheduler calls; this class only stores and reads the parts,
in the jobs table like on DynamoDB, and checks the digest when reading them back.
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.memory.items import Row
from sosw_core.adapters.memory.tables import MemoryTables
from sosw_core.domain.job_document import (
    StoredBody,
    decode,
    part_key,
)


class MemoryJobDocuments:
    """Writes and reads the part items of large job bodies in the jobs table."""

    def __init__(self, tables: MemoryTables):
        self.tables = tables

    def write_parts(self, job_id: str, stored: StoredBody, now: float) -> int:
        """Put every part (idempotent: content-addressed keys); the number of puts made."""
        for index, data in enumerate(stored.parts):
            key = part_key(job_id, stored.digest or "", index)
            row: Row = {"job_id": key, "part_of": job_id, "data": bytes(data), "created_at": now}
            self.tables.put(self.tables.jobs, key, row)
        return len(stored.parts)

    def body(self, job_id: str, record_value: Any) -> dict[str, Any]:
        """The job body a record stands for: its ``job`` value itself, or the parts it names."""
        return decode(job_id, record_value, self._read_part)

    def _read_part(self, key: str) -> bytes | None:
        with self.tables.lock:
            row = self.tables.jobs.get(key)
        return row["data"] if row and "data" in row else None

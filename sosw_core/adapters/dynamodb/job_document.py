"""Where the Scheduler keeps a job's body: in its record, or gzip-compressed in part items.

Every continuation re-plans the job from what was stored at its start, so the body must be
kept somewhere DynamoDB can give back. A DynamoDB item holds at most 400 KB, and a flat sosw
job of 50,000 names is ~1 MB of JSON, so:

* a body of at most :data:`INLINE_BYTES` (300 KB, the old cap) of canonical JSON stays in the
  record's ``job`` attribute as plain JSON, exactly as before (readable in the console);
* a larger one, up to :data:`MAX_JOB_BYTES`, is gzip-compressed and split into part items of
  at most :data:`PART_BYTES` in the jobs table, and the record's ``job`` holds only a reference
  ``{"$sosw_job_document": {"encoding": "gzip", "digest": ..., "parts": n, "bytes": ...}}``.

Parts are written **before** the record (a record never points at parts that are not there),
with plain PutItems that are idempotent: a part's key is ``<job_id>#doc-<digest>-<n>``, where
``digest`` is the SHA-256 of the compressed body, so a re-sent job rewrites identical items, and
a different body under the same ``job_id`` writes other keys instead of overwriting the parts a
running ingestion reads (it then finds the record and is a duplicate; its parts stay unused).
``#`` cannot occur in a job id, so a part key never collides with a record. Reading checks the
digest, so a part that is missing or altered stops the job with a clear error instead of
planning other tasks. Parts carry no TTL, like records.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from pynamodb.connection import TableConnection
from pynamodb.models import Model

from sosw_core.adapters.dynamodb.errors import dynamodb_errors

# the pure half (sizes, reference format, part keys, encode) is the domain's, shared by every
# store backend; re-exported for the callers that import it from here
from sosw_core.domain.job_document import (  # noqa: F401
    INLINE_BYTES,
    MAX_JOB_BYTES,
    PART_BYTES,
    PART_SEPARATOR,
    REFERENCE_KEY,
    JobDocumentMissing,
    StoredBody,
    check_size,
    decode,
    encode,
    is_reference,
    part_key,
)


class JobDocuments:
    """Writes and reads the part items of large job bodies in the jobs table."""

    def __init__(self, job_model: type[Model], *, endpoint: str | None = None):
        self._model = job_model
        self.endpoint = endpoint

    def _errors(self) -> AbstractContextManager[None]:
        return dynamodb_errors(self._model.Meta.table_name, self.endpoint)

    @property
    def _conn(self) -> TableConnection:
        return self._model._get_connection()

    def write_parts(self, job_id: str, stored: StoredBody, now: float) -> int:
        """Put every part (idempotent: content-addressed keys); the number of PutItems made."""
        for index, data in enumerate(stored.parts):
            attributes = {"part_of": {"S": job_id}, "data": {"B": data},
                          "created_at": {"N": json.dumps(now)}}
            with self._errors():
                self._conn.put_item(part_key(job_id, stored.digest or "", index), attributes=attributes)
        return len(stored.parts)

    def body(self, job_id: str, record_value: Any) -> dict[str, Any]:
        """The job body a record stands for: its ``job`` value itself, or the parts it names."""
        return decode(job_id, record_value, self._read_part)

    def _read_part(self, key: str) -> bytes | None:
        with self._errors():
            data = self._conn.get_item(key, consistent_read=True)
        item = data.get("Item") if data else None
        return item["data"]["B"] if item and "data" in item else None

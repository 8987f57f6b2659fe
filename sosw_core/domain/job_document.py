"""How a job's body is stored, decided without a store: inline, or gzip-compressed in parts.

Every store backend keeps a job's body so that continuations can re-plan the job from it. A
body of at most :data:`INLINE_BYTES` of canonical JSON stays in the job record; a larger one,
up to :data:`MAX_JOB_BYTES`, is gzip-compressed and split into parts of at most
:data:`PART_BYTES` under content-addressed keys (:func:`part_key`), and the record holds only a
reference (see :mod:`sosw_core.adapters.dynamodb.job_document` for why, and for the order of
the writes). This module imports no AWS library.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sosw_core.errors import InvalidJob, SoswError

MAX_JOB_BYTES = 10 * 1024 * 1024  # canonical JSON of the job body; ~550,000 flat sosw names
INLINE_BYTES = 300 * 1024  # bodies up to this stay plain JSON in the record (room left in 400 KB)
PART_BYTES = 350 * 1024  # compressed bytes per part item (items are at most 400 KB)
REFERENCE_KEY = "$sosw_job_document"
PART_SEPARATOR = "#doc-"


class JobDocumentMissing(SoswError):
    """A stored job body cannot be read back whole (a part is missing or does not match)."""


@dataclass(frozen=True)
class StoredBody:
    """What goes in the record's ``job`` attribute, and the part items to write first."""

    record_value: dict[str, Any]
    parts: tuple[bytes, ...] = ()
    digest: str | None = None


def check_size(body_json: str) -> int:
    """The body's size in bytes; InvalidJob above :data:`MAX_JOB_BYTES`."""
    size = len(body_json.encode())
    if size > MAX_JOB_BYTES:
        raise InvalidJob("job", f"is {size:,} bytes of JSON; the limit is {MAX_JOB_BYTES:,} (10 MiB)")
    return size


def encode(body_json: str) -> StoredBody:
    """How to store a job body given as canonical JSON (see the module's docstring)."""
    raw = body_json.encode()
    check_size(body_json)
    if len(raw) <= INLINE_BYTES:
        return StoredBody(json.loads(body_json))
    packed = gzip.compress(raw, compresslevel=6, mtime=0)  # mtime=0: same body, same bytes
    digest = hashlib.sha256(packed).hexdigest()[:32]
    parts = tuple(packed[i:i + PART_BYTES] for i in range(0, len(packed), PART_BYTES))
    reference = {"encoding": "gzip", "digest": digest, "parts": len(parts), "bytes": len(raw),
                 "compressed_bytes": len(packed)}
    return StoredBody({REFERENCE_KEY: reference}, parts, digest)


def part_key(job_id: str, digest: str, index: int) -> str:
    return f"{job_id}{PART_SEPARATOR}{digest}-{index:03d}"


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REFERENCE_KEY}


def decode(job_id: str, record_value: Any, read_part: Callable[[str], bytes | None]) -> dict[str, Any]:
    """The job body a record stands for: its ``job`` value itself, or the parts it names.

    ``read_part(key)`` is the backend's read of one part item (its bytes, or None when the item
    is missing); the parts are joined, checked against the reference's digest and unpacked here,
    so every backend reads a body the same way.
    """
    if not is_reference(record_value):
        return dict(record_value or {})
    reference = record_value[REFERENCE_KEY]
    digest, count = str(reference["digest"]), int(reference["parts"])
    chunks: list[bytes] = []
    for index in range(count):
        key = part_key(job_id, digest, index)
        data = read_part(key)
        if data is None:
            raise JobDocumentMissing(f"job {job_id!r}: body part {key!r} is missing")
        chunks.append(data)
    packed = b"".join(chunks)
    if hashlib.sha256(packed).hexdigest()[:32] != digest:
        raise JobDocumentMissing(f"job {job_id!r}: the body's parts do not match digest {digest}")
    return dict(json.loads(gzip.decompress(packed)))

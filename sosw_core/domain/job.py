"""The Scheduler's job envelope: what arrives, and the job it describes.

Rules (sosw 0.7 compatible):

- The event is a dict or a JSON string (or bytes). ``{"job": <dict or JSON string>}`` is
  unwrapped when the outer object has no ``lambda_name`` of its own; any other keys of the
  wrapper are ignored, as sosw 0.7 ignored them.
- ``lambda_name`` is required: a labourer name, or a Lambda function ARN
  ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` reduced to ``NAME``.
- ``job_schema_name`` (optional, a non-empty string) picks the chunking variant, else
  ``default`` applies (:func:`chunkable_attrs_for`); an unknown name is invalid.
- ``job_id`` (optional, a non-empty string) names the job; without it the Scheduler derives
  one with :func:`canonical_job_id`.
- None of these three keys reaches the task payloads: the rest of the job is its ``body``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sosw_core.errors import InvalidJob

ENVELOPE_KEYS = ("lambda_name", "job_schema_name", "job_id")
JOB_ID_HEX_DIGITS = 20
MAX_JOB_DEPTH = 100  # objects and lists inside one another; deeper is refused, not a RecursionError

_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]*:[0-9]*:function:(?P<name>[^:]+)(?::[^:]+)?")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,140}")


@dataclass(frozen=True)
class Job:
    """A parsed job. ``body`` is the job without its envelope keys; treat it as read-only."""

    labourer_id: str
    body: dict[str, Any]
    job_schema_name: str | None = None
    job_id: str | None = None


def _load(value: Any, where: str) -> Any:
    if isinstance(value, str | bytes | bytearray):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise InvalidJob(where, f"is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidJob(where, f"nests deeper than {MAX_JOB_DEPTH} levels") from None
    return value


def check_depth(value: Any, path: str = "") -> None:
    """InvalidJob at the first object or list nested more than :data:`MAX_JOB_DEPTH` deep."""
    pending: list[tuple[Any, str, int]] = [(value, path, 1)]
    while pending:
        item, where, depth = pending.pop()
        if not isinstance(item, dict | list | tuple):
            continue
        if depth > MAX_JOB_DEPTH:
            raise InvalidJob(where or "job", f"nests deeper than {MAX_JOB_DEPTH} levels")
        if isinstance(item, dict):
            pending.extend((sub, f"{where}.{key}" if where else str(key), depth + 1) for key, sub in item.items())
        else:
            pending.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))


def unwrap(event: Any) -> dict[str, Any]:
    """The job object of an event: JSON decoded and ``{"job": ...}`` unwrapped (not copied)."""
    event = _load(event, "job")
    if isinstance(event, dict) and "job" in event and "lambda_name" not in event:
        event = _load(event["job"], "job")
    if not isinstance(event, dict):
        raise InvalidJob("job", f"must be a JSON object, not {type(event).__name__}")
    return event


def function_name(lambda_name: Any) -> str:
    """A labourer name as given, or the function name of a Lambda ARN (qualifier dropped)."""
    if not isinstance(lambda_name, str) or not lambda_name:
        raise InvalidJob("lambda_name", "is required: a worker name or a Lambda function ARN")
    if lambda_name.startswith("arn:"):
        match = _ARN.fullmatch(lambda_name)
        if not match:
            raise InvalidJob("lambda_name", f"is not a Lambda function ARN: {lambda_name!r}")
        return match["name"]
    if not _NAME.fullmatch(lambda_name):
        raise InvalidJob("lambda_name", f"must be 1-140 characters of A-Z a-z 0-9 _ . - (got {lambda_name!r})")
    return lambda_name


def _optional_name(job: Mapping[str, Any], key: str) -> str | None:
    value = job.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidJob(key, f"must be a non-empty string (got {value!r})")
    return value


def parse_job(event: Any) -> Job:
    """Unwrap and check the envelope; InvalidJob names the field and the rule.

    The body is a deep copy: later changes to ``event`` do not reach the job.
    """
    job = unwrap(event)
    check_depth(job)
    labourer_id = function_name(job.get("lambda_name"))
    schema = _optional_name(job, "job_schema_name")
    job_id = _optional_name(job, "job_id")
    if job_id is not None and job_id.startswith("#"):  # the jobs table's own rows (dispatch leases)
        raise InvalidJob("job_id", "must not start with '#' (reserved for sosw-core's own rows)")
    body = copy.deepcopy({key: value for key, value in job.items() if key not in ENVELOPE_KEYS})
    return Job(labourer_id=labourer_id, body=body, job_schema_name=schema, job_id=job_id)


def job_document(job: Job) -> dict[str, Any]:
    """The job as an event would carry it, without ``job_id``: body plus ``lambda_name`` and
    ``job_schema_name`` (when given)."""
    document = {**job.body, "lambda_name": job.labourer_id}
    if job.job_schema_name is not None:
        document["job_schema_name"] = job.job_schema_name
    return document


def canonical_job_id(job: Job | Mapping[str, Any] | str | bytes) -> str:
    """A stable id derived from the job's content: the same job, sent again, gets the same id.

    It is the first 20 hex digits of the SHA-256 of the job's canonical JSON (keys sorted at
    every depth, no whitespace, ASCII escapes) with no prefix. The job is taken as received
    after unwrapping, without ``job_id`` and with ``lambda_name`` reduced to the function name,
    so key order, whitespace, the ``{"job": ...}`` wrapper, a JSON string instead of an object,
    and an ARN instead of the function name do not change the id. Any change of a value does.
    A :class:`Job` gives the same id as the event it was parsed from.
    """
    parsed = job if isinstance(job, Job) else parse_job(job)
    try:
        canonical = json.dumps(job_document(parsed), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidJob("job", f"is not JSON-serialisable: {exc}") from None
    return hashlib.sha256(canonical.encode()).hexdigest()[:JOB_ID_HEX_DIGITS]


Variants = Mapping[str, Any] | Iterable[tuple[str, Any]]


def chunkable_attrs_for(job: Job, variants: Variants) -> tuple[str, ...]:
    """The levels of the job's variant: ``job_schema_name``, else ``default`` (no levels if
    absent). A variant is a list of level names, or sosw 0.7's ``{"chunkable_attrs": [(name,
    {}), ...]}``. An unknown ``job_schema_name`` is an InvalidJob."""
    known = dict(variants)
    name = job.job_schema_name or "default"
    if name not in known:
        if name == "default":
            return ()
        raise InvalidJob("job_schema_name", f"no variant named {name!r} (known: {', '.join(sorted(known))})")
    variant = known[name]
    attrs = variant.get("chunkable_attrs", ()) if isinstance(variant, Mapping) else variant
    return tuple(attr[0] if isinstance(attr, list | tuple) else attr for attr in attrs)

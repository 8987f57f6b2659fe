"""The Scheduler's job envelope: what arrives, and the job it describes.

Accepted forms: a dict, a JSON string, or either wrapped as ``{"job": ...}``. ``lambda_name``
(a labourer name or a Lambda ARN, reduced to the function name) is required; ``job_schema_name``
picks a chunking variant and ``job_id`` names the job. None of the three reaches the payloads.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sosw_core.errors import InvalidJob

ENVELOPE_KEYS = ("lambda_name", "job_schema_name", "job_id")
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(:[^:]+)?$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,140}$")


@dataclass(frozen=True)
class Job:
    labourer_id: str
    body: dict[str, Any]
    job_schema_name: str | None = None
    job_id: str | None = None


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJob(where, f"is not valid JSON: {exc}") from None


def function_name(lambda_name: Any) -> str:
    """A labourer name, or the function name of a Lambda ARN (version or alias dropped)."""
    if not isinstance(lambda_name, str) or not lambda_name:
        raise InvalidJob("lambda_name", "is required: a worker name or a Lambda function ARN")
    match = _ARN.match(lambda_name)
    name = match.group(1) if match else lambda_name
    if not _NAME.match(name):
        raise InvalidJob("lambda_name", f"must be a function name or ARN (got {lambda_name!r})")
    return name


def parse_job(event: Any) -> Job:
    """Unwrap and check the envelope; InvalidJob names the field and the rule."""
    if isinstance(event, str | bytes):
        event = _loads(event, "job")
    if isinstance(event, dict) and "job" in event and set(event) == {"job"}:
        event = event["job"]
        if isinstance(event, str | bytes):
            event = _loads(event, "job")
    if not isinstance(event, dict):
        raise InvalidJob("job", f"must be a JSON object, not {type(event).__name__}")
    schema = event.get("job_schema_name")
    if schema is not None and (not isinstance(schema, str) or not schema):
        raise InvalidJob("job_schema_name", "must be a non-empty string")
    job_id = event.get("job_id")
    if job_id is not None and not isinstance(job_id, str):
        raise InvalidJob("job_id", "must be a string")
    body = {k: v for k, v in event.items() if k not in ENVELOPE_KEYS}
    return Job(labourer_id=function_name(event.get("lambda_name")), body=body,
               job_schema_name=schema, job_id=job_id)


def canonical_job_id(job: Job) -> str:
    """A stable id from the job's content: the same job, re-sent, gets the same id.

    The first 20 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces) of
    labourer, variant and body; key order and whitespace in the event do not matter.
    """
    canonical = json.dumps({"lambda_name": job.labourer_id, "job_schema_name": job.job_schema_name,
                            "body": job.body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]

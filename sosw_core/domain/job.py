"""The Scheduler's job envelope: what arrives, and the job it describes.

Rules (sosw 0.7.51 compatible):

- The event is a dict or a JSON string (or bytes). When it has a ``job`` key, the job is that
  value (a dict or a JSON string) and the wrapper's other keys are ignored, as sosw 0.7 ignored
  them; a ``lambda_name`` beside ``job`` is not read (sosw 0.7 crashed on such a job, so it is
  refused: ``lambda_name`` must be inside ``job``).
- ``lambda_name`` is required: a labourer name, or a Lambda function ARN
  ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` reduced to ``NAME``. It is the only
  key of sosw 0.7's job format that never reaches the payloads.
- ``job_schema_name`` picks the chunking variant (empty or absent: ``default``,
  :func:`chunkable_attrs_for`); an unknown name is invalid. It stays in the body and reaches the
  payloads as it did in sosw 0.7, unless the payload style is ``clean``.
- ``sosw_core`` (optional, an object; a key sosw 0.7 never used) holds sosw-core's own options:
  ``job_id`` names the job for sosw-core (without it the Scheduler derives one with
  :func:`canonical_job_id`), ``payload_style`` is ``"sosw07"`` or ``"clean"``
  (:class:`PayloadStyle`). It never reaches the payloads. A ``job_id`` key of the job itself is
  the user's data and travels into the payloads, as in sosw 0.7.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sosw_core.errors import InvalidJob

OPTIONS_KEY = "sosw_core"
ENVELOPE_KEYS = ("lambda_name", OPTIONS_KEY)
JOB_ID_HEX_DIGITS = 20
MAX_JOB_DEPTH = 100  # objects and lists inside one another; deeper is refused, not a RecursionError

_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]*:[0-9]*:function:(?P<name>[^:]+)(?::[^:]+)?")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,140}")


class PayloadStyle(enum.StrEnum):
    """How a job becomes payloads.

    ``sosw07`` (the default): the payloads sosw 0.7.51 made, but for the fixes listed in
    ``docs/migrating-from-sosw.md``. ``clean``: the same levels, plus ``period`` always expanded
    and the first level chunked like the others, ``job_schema_name`` kept out of the payloads,
    a ``payload`` key kept as data (sosw 0.7 merged it into the payload), period names matched
    whole.
    """

    SOSW07 = "sosw07"
    CLEAN = "clean"

    @classmethod
    def parse(cls, value: Any, path: str) -> PayloadStyle:
        try:
            return cls(value)
        except (ValueError, TypeError):
            raise InvalidJob(path, f"must be one of {', '.join(repr(s.value) for s in cls)} (got {value!r})") from None


@dataclass(frozen=True)
class Job:
    """A parsed job. ``body`` is the job without ``lambda_name`` and ``sosw_core``, in the job's
    key order; treat it as read-only. ``job_id`` and ``payload_style`` come from ``sosw_core``."""

    labourer_id: str
    body: dict[str, Any]
    job_id: str | None = None
    payload_style: PayloadStyle | None = None

    @property
    def job_schema_name(self) -> str | None:
        """The variant's name: ``job_schema_name`` when truthy (sosw 0.7 took a falsy one for
        ``default``)."""
        return self.body.get("job_schema_name") or None


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
    if not isinstance(event, dict):
        raise InvalidJob("job", f"must be a JSON object, not {type(event).__name__}")
    if "job" not in event:
        return event
    job = _load(event["job"], "job")
    if not isinstance(job, dict):
        raise InvalidJob("job", f"must be a JSON object, not {type(job).__name__}")
    if "lambda_name" not in job and "lambda_name" in event:
        raise InvalidJob("lambda_name", "must be inside `job`: the wrapper's other keys are not read "
                                        "(sosw 0.7 crashed on this job)")
    return job


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


def _options(job: Mapping[str, Any]) -> tuple[str | None, PayloadStyle | None]:
    """``sosw_core.job_id`` and ``sosw_core.payload_style``, checked."""
    options = job.get(OPTIONS_KEY)
    if options is None:
        return None, None
    if not isinstance(options, dict):
        raise InvalidJob(OPTIONS_KEY, f"must be an object of sosw-core's options, not {type(options).__name__}")
    for key in options:
        if key not in ("job_id", "payload_style"):
            raise InvalidJob(f"{OPTIONS_KEY}.{key}", "unknown option; known: job_id, payload_style")
    job_id = options.get("job_id")
    if job_id is not None and (not isinstance(job_id, str) or not job_id):
        raise InvalidJob(f"{OPTIONS_KEY}.job_id", f"must be a non-empty string (got {job_id!r})")
    if job_id is not None and job_id.startswith("#"):  # the jobs table's own rows (dispatch leases)
        raise InvalidJob(f"{OPTIONS_KEY}.job_id", "must not start with '#' (reserved for sosw-core's own rows)")
    style = options.get("payload_style")
    return job_id, None if style is None else PayloadStyle.parse(style, f"{OPTIONS_KEY}.payload_style")


def _check_schema_name(job: Mapping[str, Any]) -> None:
    name = job.get("job_schema_name")
    if name and not isinstance(name, str):  # sosw 0.7 crashed looking it up
        raise InvalidJob("job_schema_name", f"must be a string (got {name!r})")


def parse_job(event: Any) -> Job:
    """Unwrap and check the envelope; InvalidJob names the field and the rule.

    The body is a deep copy in the job's key order: later changes to ``event`` do not reach it.
    """
    job = unwrap(event)
    check_depth(job)
    labourer_id = function_name(job.get("lambda_name"))
    _check_schema_name(job)
    job_id, style = _options(job)
    body = copy.deepcopy({key: value for key, value in job.items() if key not in ENVELOPE_KEYS})
    return Job(labourer_id=labourer_id, body=body, job_id=job_id, payload_style=style)


def job_document(job: Job) -> dict[str, Any]:
    """The job as an event would carry it, without its sosw-core ``job_id``: the body, with
    ``lambda_name`` and the job's own payload style (when given)."""
    document = {**job.body, "lambda_name": job.labourer_id}
    if job.payload_style is not None:
        document[OPTIONS_KEY] = {"payload_style": job.payload_style.value}
    return document


def stored_body(job: Job) -> dict[str, Any]:
    """The body as a job record keeps it: the job's own payload style travels with it."""
    if job.payload_style is None:
        return job.body
    return {**job.body, OPTIONS_KEY: {"payload_style": job.payload_style.value}}


def job_from_stored(labourer_id: str, job_id: str, stored: dict[str, Any]) -> Job:
    """The :class:`Job` of a body kept by :func:`stored_body`."""
    _, style = _options(stored)
    body = {key: value for key, value in stored.items() if key != OPTIONS_KEY}
    return Job(labourer_id=labourer_id, body=body, job_id=job_id, payload_style=style)


def canonical_job_id(job: Job | Mapping[str, Any] | str | bytes) -> str:
    """A stable id derived from the job's content: the same job, sent again, gets the same id.

    It is the first 20 hex digits of the SHA-256 of the job's canonical JSON (keys sorted at
    every depth, no whitespace, ASCII escapes) with no prefix. The job is taken as received
    after unwrapping, without ``sosw_core.job_id`` and with ``lambda_name`` reduced to the
    function name, so key order, whitespace, the ``{"job": ...}`` wrapper, a JSON string instead
    of an object, and an ARN instead of the function name do not change the id. Any change of a
    value does, a ``job_id`` key of the job (the user's data) included. A :class:`Job` gives the
    same id as the event it was parsed from.
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

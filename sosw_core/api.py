"""Submit a job from Python: to a deployed Scheduler Lambda, or ingested in this process.

:func:`submit_job` checks the job here exactly as the Scheduler will (envelope, labourer
configured, JSON Schema, chunking rules, every task payload's size) and only then invokes the
Scheduler asynchronously: a job the Scheduler would refuse raises :class:`InvalidJob` naming the
field, and nothing is sent. :func:`ingest_job` runs the Scheduler itself here, against the
tasks table (DynamoDB, or a memory store for tests), in invocations of a bounded length like the
Lambda's, running each continuation itself. ``sosw-core submit`` is built on both.

Both are idempotent per job id: the same job sent twice on one UTC day (or with the same
``job_id``) creates its tasks once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sosw_core.clock import Clock, SystemClock
from sosw_core.config.loader import default_config_dir, load_config
from sosw_core.config.model import SoswConfig
from sosw_core.domain.job_record import IngestStatus
from sosw_core.errors import InvalidJob

if TYPE_CHECKING:
    from sosw_core.wiring import Backend

__all__ = ["Submitted", "ingest_job", "submit_job"]

SCHEDULER_COMPONENT = "scheduler"  # the config component read when no config is given
SLICE_SECONDS = 600.0  # length of one in-process invocation of the Scheduler before it hands over


@dataclass(frozen=True)
class Submitted:
    """What :func:`submit_job` sent, and Lambda's answer (202: queued for the Scheduler).

    ``job_id`` is the id the Scheduler gives the job: its own ``job_id``, else its content hash
    and today's date (UTC); a job sent just before midnight and planned after it gets the next
    day's date instead.
    """

    job_id: str
    labourer_id: str
    tasks: int  # how many tasks the Scheduler will create
    function_name: str
    status_code: int
    request_id: str


def job_schemas(config_dir: Path | None = None) -> dict[str, dict]:
    """The JSON Schemas of the jobs, ``<config_dir>/schemas/<labourer_id>.json``, as the Scheduler
    reads them; ``config_dir`` defaults to the config loader's folder (``$SOSW_CONFIG_DIR``, else
    ``./config``)."""
    from sosw_core.domain.schemas import load_schemas

    folder = config_dir if config_dir is not None else default_config_dir(os.environ)
    return load_schemas(folder / "schemas") if folder is not None else {}


def submit_job(job: Mapping[str, Any] | str | bytes, *, function_name: str | None = None,
               client: Any = None, config: SoswConfig | None = None,
               schemas: Mapping[str, dict] | None = None, clock: Clock | None = None) -> Submitted:
    """Check ``job`` here, then send it to the deployed Scheduler (an asynchronous Lambda invoke).

    ``job``: the job as a mapping or as its JSON text (sent unchanged). ``function_name``: the
    Scheduler Lambda, default ``config.scheduler_function``. ``client``: a boto3 Lambda client,
    default ``boto3.client("lambda")``. ``config``: default ``load_config("scheduler")``; its
    labourers and scheduler settings must match the deployment's. ``schemas``: default
    :func:`job_schemas`.

    Raises :class:`InvalidJob` (nothing sent) when the Scheduler would refuse the job, or when it
    is larger than an asynchronous invocation may carry (ingest it with :func:`ingest_job`);
    botocore's ``ClientError`` when Lambda refuses the invoke (no such function, no permission).
    """
    from sosw_core.adapters.invokers.lambda_ import ASYNC_PAYLOAD_LIMIT
    from sosw_core.domain.schemas import SchemaValidators
    from sosw_core.services.ingest import count_checked, plan_for

    config = config if config is not None else load_config(SCHEDULER_COMPONENT)
    body = _encode(job)
    if len(body) > ASYNC_PAYLOAD_LIMIT:
        raise InvalidJob("job", f"is {len(body)} bytes; an asynchronous Lambda invocation carries at most "
                                f"{ASYNC_PAYLOAD_LIMIT} (ingest it in process instead: ingest_job or "
                                "`sosw-core submit` without --async-lambda)")
    as_of = datetime.fromtimestamp((clock or SystemClock()).now(), UTC).date()
    plan = plan_for(body, config, as_of,
                    schemas=SchemaValidators(job_schemas() if schemas is None else schemas))
    tasks = count_checked(plan, config.scheduler.max_payload_bytes)
    name = function_name or config.scheduler_function
    if client is None:
        import boto3

        client = boto3.client("lambda")
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=body)
    return Submitted(job_id=plan.job_id, labourer_id=plan.labourer_id, tasks=tasks, function_name=name,
                     status_code=int(response.get("StatusCode", 0)),
                     request_id=response.get("ResponseMetadata", {}).get("RequestId", ""))


def _encode(job: Mapping[str, Any] | str | bytes) -> bytes:
    """The bytes Lambda receives: JSON text as given, a mapping as compact JSON."""
    if isinstance(job, bytes):
        return job
    if isinstance(job, str):
        return job.encode()
    try:
        return json.dumps(job, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidJob("job", f"must be plain JSON: {exc}") from exc


def ingest_job(job: Mapping[str, Any] | str | bytes, *, config: SoswConfig | None = None,
               store: Any = None, backend: Backend = "dynamodb", as_of: date | None = None,
               schemas: Mapping[str, dict] | None = None, clock: Clock | None = None,
               on_page: Callable[[Any], None] | None = None,
               slice_seconds: float = SLICE_SECONDS) -> dict[str, Any]:
    """Ingest ``job`` in this process: the Scheduler's work, without the Lambda.

    ``store``: the tasks and jobs tables to write (default ``build_store(config, backend)``,
    ``backend`` being ``"dynamodb"`` or ``"memory"``; pass your own store to read the tasks
    afterwards). ``config``: default ``load_config("scheduler")``. ``as_of``: the day the job's
    periods are planned for (default: today, UTC). ``on_page``: called with each page's
    progress (:class:`~sosw_core.services.ingest.PageDone`).

    Like the Lambda, it works in invocations of ``slice_seconds`` each (one clock reading, one
    job lease each) and runs each continuation itself. Returns the last invocation's result
    (``job_id``, ``state``, ``cursor``, ``total``, ``duplicate`` ...) with ``written``: the tasks
    this call created; ``state`` is an :class:`~sosw_core.domain.job_record.IngestStatus`.
    Raises :class:`InvalidJob` before anything is written when the job is refused.
    """
    from sosw_core.wiring import build_scheduler, build_store

    config = config if config is not None else load_config(SCHEDULER_COMPONENT)
    check_slice(slice_seconds, config)
    if store is None:
        store = build_store(config, backend)
    continuations = _Continuations()
    ingestor = build_scheduler(config, store, invoker=continuations, clock=clock or SystemClock(),
                               schemas=job_schemas() if schemas is None else schemas, on_page=on_page)
    event = dict(job) if isinstance(job, Mapping) else job
    result = ingestor.handle(event, _Slice(slice_seconds), as_of=as_of)
    written = result.get("written", 0)
    while result.get("state") == IngestStatus.CONTINUED and continuations.pending:
        result = ingestor.handle(continuations.pending.pop(0), _Slice(slice_seconds))
        written += result.get("written", 0)
    return {**result, "written": written}


def check_slice(slice_seconds: float, config: SoswConfig) -> None:
    """ValueError unless an invocation of ``slice_seconds`` has time to write: the Scheduler
    hands over when less than ``scheduler.time_margin_seconds`` is left, so a shorter slice
    would hand over before its first page, again and again."""
    margin = config.scheduler.time_margin_seconds
    if not slice_seconds > margin:
        raise ValueError(f"slice_seconds must exceed scheduler.time_margin_seconds ({margin:g}), "
                         f"got {slice_seconds:g}")


class _Slice:
    """A Lambda-like context for one in-process invocation: ``seconds`` long from its creation."""

    def __init__(self, seconds: float):
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Continuations:
    """An invoker that queues the Scheduler's continuation events for this process to run next."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []

    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        self.pending.append(event)

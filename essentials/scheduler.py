"""Lambda entry point of the Scheduler: ingest a job (or continue one) into the tasks table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3

from sosw_core.adapters.dynamodb import open_store
from sosw_core.adapters.dynamodb.job_store import JobStore
from sosw_core.adapters.invokers.lambda_ import LambdaInvoker
from sosw_core.clock import SystemClock
from sosw_core.config.loader import load_config
from sosw_core.services.ingest import Ingestor, load_schemas

_ingestor: Ingestor | None = None  # built at the first call, reused while the container lives


def _build() -> Ingestor:
    config = load_config("scheduler")
    store = open_store(config)
    schemas = load_schemas(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / "config" / "schemas")
    return Ingestor(config, JobStore(store.models, endpoint=config.dynamodb.endpoint_url), store.batch,
                    LambdaInvoker(boto3.client("lambda")), SystemClock(), schemas=schemas)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _ingestor
    if _ingestor is None:
        _ingestor = _build()
    return _ingestor.handle(event, context)

"""Lambda entry point of the Scheduler: ingest a job (or continue one) into the tasks table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.loader import load_config
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.ingest import Ingestor, load_schemas
from sosw_core.wiring import build_scheduler

_ingestor: Ingestor | None = None  # built at the first call, reused while the container lives


def _build() -> Ingestor:
    setup_lambda_logging("sosw_scheduler")
    config = load_config("scheduler")
    schemas = load_schemas(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / "config" / "schemas")
    return build_scheduler(config, open_store(config), schemas=schemas)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _ingestor
    if _ingestor is None:
        _ingestor = _build()
    return _ingestor.handle(event, context)

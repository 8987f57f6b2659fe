"""Lambda entry point of the Scheduler: ingest a job (or continue one) into the tasks table.

Built at the first call and reused while the container lives, rebuilt when the config changed
(:mod:`sosw_core.config.watch`): a warm Scheduler accepts a labourer added since.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.model import SoswConfig
from sosw_core.config.watch import ConfigWatch
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.ingest import Ingestor, load_schemas
from sosw_core.wiring import build_scheduler


def _build(config: SoswConfig) -> Ingestor:
    schemas = load_schemas(Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / "config" / "schemas")
    return build_scheduler(config, open_store(config), schemas=schemas)


_ingestor = ConfigWatch("scheduler", _build, setup=lambda: setup_lambda_logging("sosw_scheduler"))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return _ingestor.get().handle(event, context)

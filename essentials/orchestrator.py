"""Lambda entry point of the Orchestrator (scheduled every minute): dispatch in ticks until time runs low.

Each tick logs its metrics as EMF lines (:mod:`sosw_core.services.metered`); the return value is
the run's summary.
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.loader import load_config
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.metered import MeteredOrchestrator
from sosw_core.wiring import build_orchestrator

_orchestrator: MeteredOrchestrator | None = None  # built at the first call, reused while the container lives


def _build() -> MeteredOrchestrator:
    setup_lambda_logging("sosw_orchestrator")
    config = load_config("orchestrator")
    store = open_store(config)
    return MeteredOrchestrator(build_orchestrator(config, store), store.queries.queue_depth_page)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _orchestrator
    if _orchestrator is None:
        _orchestrator = _build()
    return _orchestrator.run(context).summary()

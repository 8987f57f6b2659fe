"""Lambda entry point of the Orchestrator (scheduled every minute): dispatch in ticks until time runs low.

Each tick logs its metrics as EMF lines (:mod:`sosw_core.services.metered`); the return value is
the run's summary. Built at the first call and reused while the container lives, rebuilt when
the config changed (:mod:`sosw_core.config.watch`).
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.model import SoswConfig
from sosw_core.config.watch import ConfigWatch
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.metered import MeteredOrchestrator
from sosw_core.wiring import build_orchestrator


def _build(config: SoswConfig) -> MeteredOrchestrator:
    store = open_store(config)
    return MeteredOrchestrator(build_orchestrator(config, store), store.queries.queue_depth_page)


_orchestrator = ConfigWatch("orchestrator", _build, setup=lambda: setup_lambda_logging("sosw_orchestrator"))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return _orchestrator.get().run(context).summary()

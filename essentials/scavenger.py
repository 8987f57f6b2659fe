"""Lambda entry point of the Scavenger (scheduled every minute): expire, requeue, alert about dead tasks.

Each sweep logs its metrics as EMF lines (:mod:`sosw_core.services.metered`).
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.loader import load_config
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.metered import MeteredScavenger
from sosw_core.services.scavenger import summarize
from sosw_core.wiring import build_scavenger

_scavenger: MeteredScavenger | None = None  # built at the first call, reused while the container lives


def _build() -> MeteredScavenger:
    setup_lambda_logging("sosw_scavenger")
    config = load_config("scavenger")
    return MeteredScavenger(build_scavenger(config, open_store(config)))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _scavenger
    if _scavenger is None:
        _scavenger = _build()
    return summarize(_scavenger.run(context))

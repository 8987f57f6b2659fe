"""Lambda entry point of the Scavenger (scheduled every minute): expire, requeue, alert about dead tasks.

Each sweep logs its metrics as EMF lines (:mod:`sosw_core.services.metered`). Built at the first
call and reused while the container lives, rebuilt when the config changed
(:mod:`sosw_core.config.watch`).
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.model import SoswConfig
from sosw_core.config.watch import ConfigWatch
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.metered import MeteredScavenger
from sosw_core.services.scavenger import summarize
from sosw_core.wiring import build_scavenger


def _build(config: SoswConfig) -> MeteredScavenger:
    return MeteredScavenger(build_scavenger(config, open_store(config)))


_scavenger = ConfigWatch("scavenger", _build, setup=lambda: setup_lambda_logging("sosw_scavenger"))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return summarize(_scavenger.get().run(context))

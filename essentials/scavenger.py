"""Lambda entry point of the Scavenger (scheduled every minute): expire, requeue, alert about dead tasks.

Each sweep logs its metrics as EMF lines (:mod:`sosw_core.services.metered`).
"""

from __future__ import annotations

from typing import Any

import boto3

from sosw_core.adapters.dynamodb import open_store
from sosw_core.adapters.notifiers.sns import LogNotifier, SnsNotifier
from sosw_core.clock import SystemClock
from sosw_core.config.loader import load_config
from sosw_core.services.metered import MeteredScavenger
from sosw_core.services.scavenger import Scavenger, summarize

_scavenger: MeteredScavenger | None = None  # built at the first call, reused while the container lives


def _build() -> MeteredScavenger:
    config = load_config("scavenger")
    store = open_store(config)
    notifier = (SnsNotifier(boto3.client("sns"), config.alerts_topic_arn) if config.alerts_topic_arn
                else LogNotifier())
    return MeteredScavenger(Scavenger(config, store.queries, store.tasks, notifier))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _scavenger
    if _scavenger is None:
        _scavenger = _build()
    return summarize(_scavenger.run(context, SystemClock()))

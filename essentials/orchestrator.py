"""Lambda entry point of the Orchestrator (scheduled every minute): dispatch in ticks until time runs low.

Each tick logs its metrics as EMF lines (:mod:`sosw_core.services.metered`); the return value is the
run's summary.
"""

from __future__ import annotations

from typing import Any

import boto3

from sosw_core.adapters.cloudwatch import CloudWatchMetrics
from sosw_core.adapters.dynamodb import open_store
from sosw_core.adapters.invokers.lambda_ import LambdaInvoker
from sosw_core.clock import SystemClock
from sosw_core.config.loader import load_config
from sosw_core.services.metered import MeteredOrchestrator
from sosw_core.services.orchestrator import Orchestrator

_orchestrator: MeteredOrchestrator | None = None  # built at the first call, reused while the container lives


def _build() -> MeteredOrchestrator:
    config = load_config("orchestrator")
    store = open_store(config)
    metrics = CloudWatchMetrics(boto3.client("cloudwatch"))  # region: AWS_REGION of the Lambda
    orchestrator = Orchestrator(config, store.queries, store.tasks, LambdaInvoker(boto3.client("lambda")),
                                metrics.for_tick, leases=store.leases, clock=SystemClock())
    return MeteredOrchestrator(orchestrator, store.queries.queue_depth_page)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _orchestrator
    if _orchestrator is None:
        _orchestrator = _build()
    return _orchestrator.run(context, SystemClock()).summary()

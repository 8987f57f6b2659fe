"""Lambda entry point of the Orchestrator (scheduled every minute): dispatch in ticks until time runs low."""

from __future__ import annotations

from typing import Any

import boto3

from sosw_core.clock import SystemClock
from sosw_core.cloudwatch import CloudWatchMetrics
from sosw_core.config.loader import load_config
from sosw_core.invokers.lambda_ import LambdaInvoker
from sosw_core.orchestrator import Orchestrator
from sosw_core.store import open_store

_orchestrator: Orchestrator | None = None  # built at the first call, reused while the container lives


def _build() -> Orchestrator:
    config = load_config("orchestrator")
    store = open_store(config)
    metrics = CloudWatchMetrics(boto3.client("cloudwatch"))  # region: AWS_REGION of the Lambda
    return Orchestrator(config, store.queries, store.tasks, LambdaInvoker(boto3.client("lambda")),
                        metrics.for_tick)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _orchestrator
    if _orchestrator is None:
        _orchestrator = _build()
    return _orchestrator.run(context, SystemClock()).summary()

"""Lambda entry point of the WorkerAssistant: apply one worker report (completed/failed/heartbeat).

Errors (malformed report, unknown task, wrong token) are raised, so the calling worker's
synchronous invoke sees a FunctionError naming them. Completions chain the labourer's next
dispatch through an Orchestrator built in the same container.
"""

from __future__ import annotations

from typing import Any

import boto3

from sosw_core.assistant import WorkerAssistant
from sosw_core.clock import SystemClock
from sosw_core.cloudwatch import CloudWatchMetrics
from sosw_core.config import load_config
from sosw_core.invokers.lambda_ import LambdaInvoker
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.orchestrator import Orchestrator
from sosw_core.store import open_store

_assistant: WorkerAssistant | None = None  # built at the first call, reused while the container lives


def _build() -> WorkerAssistant:
    setup_lambda_logging("sosw_worker_assistant")
    config = load_config("worker_assistant")
    store = open_store(config)
    orchestrator = Orchestrator(config, store.queries, store.tasks, LambdaInvoker(boto3.client("lambda")),
                                CloudWatchMetrics(boto3.client("cloudwatch")).for_tick)
    return WorkerAssistant(store.tasks, config, SystemClock(), chain=orchestrator.dispatch_one_labourer)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _assistant
    if _assistant is None:
        _assistant = _build()
    return _assistant.handle(event)

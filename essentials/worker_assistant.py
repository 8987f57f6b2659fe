"""Lambda entry point of the WorkerAssistant: apply one worker report (completed/failed/heartbeat).

Errors (malformed report, unknown task, wrong token) are raised, so the calling worker's
synchronous invoke sees a FunctionError naming them. A completion hands its slot to the
labourer's next queued task (:mod:`sosw_core.services.handoff`). Applied reports log their
metrics as EMF lines (:func:`sosw_core.services.metered.log_report_metrics`).
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config import load_config
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.assistant import WorkerAssistant
from sosw_core.services.metered import log_report_metrics
from sosw_core.wiring import build_assistant

_assistant: WorkerAssistant | None = None  # built at the first call, reused while the container lives


def _build() -> WorkerAssistant:
    setup_lambda_logging("sosw_worker_assistant")
    config = load_config("worker_assistant")
    return build_assistant(config, open_store(config))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    global _assistant
    if _assistant is None:
        _assistant = _build()
    return log_report_metrics(event, _assistant.handle(event), _assistant.clock.now())

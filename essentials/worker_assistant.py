"""Lambda entry point of the WorkerAssistant: apply one worker report (completed/failed/heartbeat).

Refused reports (malformed, unknown task, wrong token) are logged at ERROR and counted in
``ReportsRefused`` (alarmed on); a sosw-core worker's are raised, so its synchronous invoke sees
a FunctionError naming them, and a sosw 0.7 worker's (asynchronous, no token) are answered
``refused`` (:mod:`sosw_core.services.assistant`). A completion hands its slot to the
labourer's next queued task (:mod:`sosw_core.services.handoff`). Applied reports log their
metrics as EMF lines (:func:`sosw_core.services.metered.log_report_metrics`). Built at the first
call and reused while the container lives, rebuilt when the config changed
(:mod:`sosw_core.config.watch`).
"""

from __future__ import annotations

from typing import Any

from sosw_core.adapters.dynamodb import open_store
from sosw_core.config.model import SoswConfig
from sosw_core.config.watch import ConfigWatch
from sosw_core.logging_json import setup_lambda_logging
from sosw_core.services.assistant import WorkerAssistant
from sosw_core.services.metered import log_refused_report, log_report_metrics
from sosw_core.wiring import build_assistant


def _build(config: SoswConfig) -> WorkerAssistant:
    return build_assistant(config, open_store(config), on_refused=log_refused_report)


_assistant = ConfigWatch("worker_assistant", _build, setup=lambda: setup_lambda_logging("sosw_worker_assistant"))


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    assistant = _assistant.get()
    return log_report_metrics(assistant.handle(event), assistant.clock.now())

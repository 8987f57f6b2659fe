"""sosw-core: Serverless Orchestrator of Serverless Workers.

The public API, for the code of a worker or of a job's sender::

    from sosw_core import Worker, load_config, submit_job, ingest_job, InvalidJob

Names are loaded when first used (PEP 562), so ``import sosw_core`` and ``from sosw_core import
Worker`` load no boto3, botocore or pynamodb: a worker's cold start pays for them only when it
sends its first report. Everything else lives in its subpackage: the domain (``sosw_core.domain``),
the services, the adapters, the wiring (``sosw_core.wiring``) and the test kit
(``sosw_core.testing``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sosw_core.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> the module that defines it (every name of __all__ but __version__)
_EXPORTS = {
    "Worker": "sosw_core.services.worker",
    "ReportFailed": "sosw_core.services.worker",
    "SoswError": "sosw_core.errors",
    "ConfigError": "sosw_core.errors",
    "InvalidJob": "sosw_core.errors",
    "InvalidEvent": "sosw_core.errors",
    "InvalidTask": "sosw_core.errors",
    "UnknownLabourer": "sosw_core.errors",
    "ReportRejected": "sosw_core.errors",
    "TaskNotFound": "sosw_core.errors",
    "StoreUnavailable": "sosw_core.errors",
    "AttemptSuperseded": "sosw_core.errors",
    "load_config": "sosw_core.config.loader",
    "submit_job": "sosw_core.api",
    "ingest_job": "sosw_core.api",
    "Submitted": "sosw_core.api",
    "Outcome": "sosw_core.domain.outcomes",
    "TaskState": "sosw_core.domain.task",
}

__all__ = [
    "AttemptSuperseded",
    "ConfigError",
    "InvalidEvent",
    "InvalidJob",
    "InvalidTask",
    "Outcome",
    "ReportFailed",
    "ReportRejected",
    "SoswError",
    "StoreUnavailable",
    "Submitted",
    "TaskNotFound",
    "TaskState",
    "UnknownLabourer",
    "Worker",
    "__version__",
    "ingest_job",
    "load_config",
    "submit_job",
]

if TYPE_CHECKING:
    from sosw_core.api import Submitted, ingest_job, submit_job
    from sosw_core.config.loader import load_config
    from sosw_core.domain.outcomes import Outcome
    from sosw_core.domain.task import TaskState
    from sosw_core.errors import (
        AttemptSuperseded,
        ConfigError,
        InvalidEvent,
        InvalidJob,
        InvalidTask,
        ReportRejected,
        SoswError,
        StoreUnavailable,
        TaskNotFound,
        UnknownLabourer,
    )
    from sosw_core.services.worker import ReportFailed, Worker


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

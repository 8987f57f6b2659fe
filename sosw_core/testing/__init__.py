"""A test kit for your workers: run a Worker on a real task and check what it reported.

Without pytest::

    from sosw_core.testing import WorkerHarness, memory_backend

    with memory_backend(labourers=["sum"]) as backend:
        run = WorkerHarness.from_backend(backend).run(SumWorker, {"numbers": [1, 2]})
        assert run.state == "completed" and run.result == {"sum": 3}

With pytest, enable the fixtures (``sosw_harness``, ``sosw_backend``, ...) with
``pytest_plugins = ["sosw_core.testing.pytest_plugin"]``. The store is in memory by default
(nothing to install beyond sosw-core); ``moto`` and ``dynamodb-local`` run the same tests on the
DynamoDB store. See ``docs/writing-a-worker.md``.
"""

from sosw_core.testing.backends import (
    BACKENDS,
    DYNAMODB_LOCAL,
    MEMORY,
    MOTO,
    Backend,
    BackendError,
    base_config,
    dynamodb_local_backend,
    fake_aws_env,
    labourer_config,
    memory_backend,
    moto_backend,
    open_backend,
)
from sosw_core.testing.harness import HarnessContext, HarnessError, WorkerHarness
from sosw_core.testing.results import SentReport, WorkerRun

__all__ = [
    "BACKENDS",
    "DYNAMODB_LOCAL",
    "MEMORY",
    "MOTO",
    "Backend",
    "BackendError",
    "HarnessContext",
    "HarnessError",
    "SentReport",
    "WorkerHarness",
    "WorkerRun",
    "base_config",
    "dynamodb_local_backend",
    "fake_aws_env",
    "labourer_config",
    "memory_backend",
    "moto_backend",
    "open_backend",
]

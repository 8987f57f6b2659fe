"""The one place where components are put together.

Every entry point (the four Lambda handlers, the local runtime, the demo, the CLI, the chaos run,
the benchmark and the tests) builds its Orchestrator, Scavenger, WorkerAssistant and Scheduler
here, so a new dependency is added once. Each builder takes the config and a store and lets the
caller replace any adapter; what is not given is the AWS default, created only when needed
(so building for a local run or a test never loads boto3's clients).

The store is any backend with the attributes ``tasks, queries, batch, leases, jobs, documents``:
DynamoDB (:func:`sosw_core.adapters.dynamodb.open_store`) or memory
(:func:`sosw_core.adapters.memory.open_memory_store`); :func:`build_store` picks one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, Literal

from sosw_core.clock import Clock, SystemClock
from sosw_core.config.model import SoswConfig
from sosw_core.domain.ports import Invoker, MetricsReaderFactory, Notifier
from sosw_core.services.assistant import RefusalHook, WorkerAssistant
from sosw_core.services.handoff import HandOff
from sosw_core.services.ingest import Ingestor
from sosw_core.services.orchestrator import Orchestrator
from sosw_core.services.scavenger import Scavenger

Backend = Literal["dynamodb", "memory"]


def build_store(config: SoswConfig, backend: Backend = "dynamodb") -> Any:
    """The store for ``config``: DynamoDB (``config.dynamodb`` says where) or in memory."""
    if backend == "memory":
        from sosw_core.adapters.memory import open_memory_store

        return open_memory_store(config)
    if backend == "dynamodb":
        from sosw_core.adapters.dynamodb import open_store

        return open_store(config)
    raise ValueError(f"backend must be 'dynamodb' or 'memory', not {backend!r}")


def lambda_invoker() -> Invoker:
    """Asynchronous Lambda invokes with the default boto3 session (region from the environment)."""
    import boto3

    from sosw_core.adapters.invokers.lambda_ import LambdaInvoker

    return LambdaInvoker(boto3.client("lambda"))


def cloudwatch_metrics() -> MetricsReaderFactory:
    """Health metrics read from CloudWatch, one cached reader per tick."""
    import boto3

    from sosw_core.adapters.cloudwatch import CloudWatchMetrics

    return CloudWatchMetrics(boto3.client("cloudwatch")).for_tick


def alert_notifier(config: SoswConfig) -> Notifier:
    """Alerts about dead tasks on the configured SNS topic, or in the log when none is set."""
    from sosw_core.adapters.notifiers.local import LogNotifier

    if not config.alerts_topic_arn:
        return LogNotifier()
    import boto3

    from sosw_core.adapters.notifiers.sns import SnsNotifier

    return SnsNotifier(boto3.client("sns"), config.alerts_topic_arn)


def build_orchestrator(config: SoswConfig, store: Any, *, invoker: Invoker | None = None,
                       metrics: MetricsReaderFactory | None = None, clock: Clock | None = None,
                       rng: random.Random | None = None,
                       timer: Callable[[], float] | None = None) -> Orchestrator:
    """An Orchestrator over ``store``; defaults: Lambda invokes, CloudWatch health, system time."""
    extra: dict[str, Any] = {} if timer is None else {"timer": timer}
    return Orchestrator(config, tasks=store.tasks, queries=store.queries, leases=store.leases,
                        invoker=invoker or lambda_invoker(), metrics=metrics or cloudwatch_metrics(),
                        clock=clock or SystemClock(), rng=rng, **extra)


def build_scavenger(config: SoswConfig, store: Any, *, notifier: Notifier | None = None,
                    clock: Clock | None = None, sweep_seconds: float | None = None,
                    stop_margin_seconds: float | None = None) -> Scavenger:
    """A Scavenger over ``store``; defaults: alerts per :func:`alert_notifier`, system time."""
    return Scavenger(config, tasks=store.tasks, queries=store.queries,
                     notifier=notifier or alert_notifier(config), clock=clock or SystemClock(),
                     sweep_seconds=sweep_seconds, stop_margin_seconds=stop_margin_seconds)


def build_handoff(config: SoswConfig, store: Any, *, invoker: Invoker | None = None,
                  metrics: MetricsReaderFactory | None = None, health_refresh_seconds: float = 60.0,
                  rng: random.Random | None = None) -> HandOff:
    """Completion hand-offs over ``store``: a finished task passes its slot to the next one."""
    return HandOff(config, tasks=store.tasks, queries=store.queries, invoker=invoker or lambda_invoker(),
                   metrics=metrics or cloudwatch_metrics(),
                   health_refresh_seconds=health_refresh_seconds, rng=rng)


def build_assistant(config: SoswConfig, store: Any, *, clock: Clock | None = None,
                    handoff: HandOff | Literal[False] | None = None, invoker: Invoker | None = None,
                    metrics: MetricsReaderFactory | None = None,
                    health_refresh_seconds: float = 60.0,
                    on_refused: RefusalHook | None = None) -> WorkerAssistant:
    """A WorkerAssistant over ``store``.

    ``handoff``: None builds one from ``invoker`` and ``metrics`` (their AWS defaults when not
    given); ``False`` builds none (a completion never passes its slot on); or a ready HandOff.
    ``on_refused``: called per refused report (the Lambda handler counts them); default nothing.
    """
    if handoff is None:
        handoff = build_handoff(config, store, invoker=invoker, metrics=metrics,
                                health_refresh_seconds=health_refresh_seconds)
    extra: dict[str, Any] = {} if on_refused is None else {"on_refused": on_refused}
    return WorkerAssistant(config, tasks=store.tasks, clock=clock or SystemClock(),
                           handoff=handoff or None, **extra)


def build_scheduler(config: SoswConfig, store: Any, *, invoker: Invoker | None = None,
                    clock: Clock | None = None, schemas: Mapping[str, dict] | None = None,
                    **options: Any) -> Ingestor:
    """The Scheduler's Ingestor over ``store``; ``invoker`` starts its continuations.

    ``options``: the Ingestor's tuning knobs (``page_size``, ``writers``, ``depth``,
    ``on_page``, ``new_owner``).
    """
    return Ingestor(config, jobs=store.jobs, batch=store.batch, documents=store.documents,
                    invoker=invoker or lambda_invoker(), clock=clock or SystemClock(),
                    schemas=schemas, **options)

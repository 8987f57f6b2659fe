"""The chaos deployment: every component of sosw-core, several times over, on one DynamoDB.

Each component gets its own store (its own pynamodb models, so its own botocore client, as
separate Lambdas have) with its own :class:`~devtools.faults.ThrottleInjector`:
3 Orchestrators and 2 Scavengers ticking on their own threads, one WorkerAssistant (with the
completion hand-off) behind a :class:`~sosw_core.services.worker.DirectReporter`, one Scheduler, and
one :class:`~sosw_core.adapters.invokers.local.LocalInvoker` standing in for the Lambda service. No lock
in this process coordinates them: whatever keeps a labourer within its limit is in DynamoDB.
The observer's store (progress and the final Scan) is never throttled.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from devtools.chaos.behaviours import Mix
from devtools.chaos.ledger import Ledger
from devtools.chaos.workers import ChaosReporter, ChaosWorker
from devtools.faults import ThrottleInjector
from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store, open_store
from sosw_core.adapters.invokers.local import LocalInvoker
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import Clock
from sosw_core.config.model import (
    Backoff,
    DynamoDBConfig,
    LabourerConfig,
    OrchestratorConfig,
    SchedulerConfig,
    SoswConfig,
    TablesConfig,
)
from sosw_core.domain.events import ENVELOPE
from sosw_core.services.worker import DirectReporter
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shape:
    """The parts of the chaos options the deployment is built from."""

    limits: tuple[int, ...]
    lease_seconds: float
    max_attempts: int
    tick_seconds: float
    orchestrators: int
    scavengers: int
    throttle_rate: float
    mix: Mix
    seed: int
    work_seconds: tuple[float, float]
    scheduler_timeout_seconds: float
    max_workers: int
    timeout_from_invoke: bool = False


def labourer_id(limit: int) -> str:
    return f"max{limit:02d}"


def chaos_config(shape: Shape, endpoint_url: str) -> SoswConfig:
    suffix = uuid.uuid4().hex[:8]
    backoff = Backoff(base_seconds=shape.tick_seconds, factor=2, cap_seconds=shape.tick_seconds * 4,
                      jitter=0.5)
    labourers = tuple(LabourerConfig(id=labourer_id(limit), max_simultaneous_invocations=limit,
                                     max_duration_seconds=shape.lease_seconds,  # type: ignore[arg-type]
                                     max_attempts=shape.max_attempts, backoff=backoff)
                      for limit in shape.limits)
    return SoswConfig(
        labourers=labourers,
        tables=TablesConfig(tasks=f"chaos_tasks_{suffix}", jobs=f"chaos_jobs_{suffix}"),
        dynamodb=DynamoDBConfig(endpoint_url=endpoint_url),
        orchestrator=OrchestratorConfig(tick_seconds=shape.tick_seconds),
        scheduler=SchedulerConfig(job_schema_variants=(("default", ("item",)),), time_margin_seconds=1.0),
    )


class Ticker:
    """Calls ``step(now)`` every ``every`` seconds on its own thread until stopped.

    A tick that raises is recorded and the loop goes on, as the next scheduled Lambda would.
    """

    def __init__(self, name: str, step: Callable[[float], object], every: float, clock: Clock,
                 stop: threading.Event, errors: list[str]):
        self.name = name
        self.step = step
        self.every = every
        self.clock = clock
        self.stop = stop
        self.errors = errors
        self.ticks = 0
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.step(self.clock.now())
                self.ticks += 1
            except Exception as exc:  # noqa: BLE001 - recorded in the report; the ticker goes on
                logger.exception("%s tick failed", self.name)
                self.errors.append(f"{self.name}: {type(exc).__name__}: {exc}"[:300])
            self.stop.wait(self.every)


class ChaosInvoker(LocalInvoker):
    """The local invoker, noting in the ledger when each worker invocation was accepted."""

    def __init__(self, ledger: Ledger, *, timeout_from_invoke: bool = False, **kwargs):
        super().__init__({}, **kwargs)
        self.ledger = ledger
        self.timeout_from_invoke = timeout_from_invoke

    def _lease_end(self, function_name: str, event: dict) -> float | None:
        # As on AWS, a function's timeout counts from its own start, whatever the task's lease:
        # only with ``timeout_from_invoke`` (the local runtime ends a context at the lease end).
        return None if self.timeout_from_invoke else super()._lease_end(function_name, event)

    def invoke(self, function_name: str, event: dict) -> None:
        at = time.time()
        super().invoke(function_name, event)
        envelope = event.get(ENVELOPE) if isinstance(event, dict) else None
        if isinstance(envelope, dict) and isinstance(event.get("task_id"), str):
            self.ledger.invoked(event["task_id"], int(envelope.get("attempt") or 0), at)


class Deployment:
    def __init__(self, shape: Shape, config: SoswConfig, clock: Clock, ledger: Ledger):
        self.shape = shape
        self.config = config
        self.clock = clock
        self.ledger = ledger
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.injectors: dict[str, ThrottleInjector] = {}
        self.notifier = MemoryNotifier()
        metrics = StaticMetrics({})
        timeouts = {lab.function_name: float(lab.max_duration_seconds) for lab in config.labourers}
        timeouts[config.scheduler_function] = shape.scheduler_timeout_seconds
        self.invoker = ChaosInvoker(ledger, timeout_from_invoke=shape.timeout_from_invoke,
                                    max_workers=shape.max_workers, timeouts=timeouts)
        self.tickers: list[Ticker] = []
        for n in range(shape.orchestrators):
            store = self.store(f"orchestrator-{n + 1}")
            orchestrator = build_orchestrator(config, store, invoker=self.invoker, metrics=metrics.for_tick,
                                              clock=clock)
            self.tickers.append(Ticker(f"orchestrator-{n + 1}", orchestrator.tick, shape.tick_seconds,
                                       clock, self.stop, self.errors))
        for n in range(shape.scavengers):
            store = self.store(f"scavenger-{n + 1}")
            scavenger = build_scavenger(config, store, notifier=self.notifier, clock=clock)
            self.tickers.append(Ticker(f"scavenger-{n + 1}", scavenger.sweep, shape.tick_seconds,
                                       clock, self.stop, self.errors))
        store = self.store("assistant")
        self.assistant = build_assistant(config, store, clock=clock, invoker=self.invoker,
                                         metrics=metrics.for_tick, health_refresh_seconds=shape.tick_seconds)
        self.reporter = ChaosReporter(DirectReporter(self.assistant), ledger,
                                      late_margin_seconds=shape.tick_seconds + 0.2)
        for lab in config.labourers:
            self.invoker.handlers[lab.function_name] = ChaosWorker(
                lab.id, ledger, mix=shape.mix, seed=shape.seed, work=shape.work_seconds,
                reporter=self.reporter)
        self.scheduler_store = self.store("scheduler")

    def store(self, component: str) -> Store:
        """A store of its own for ``component``, with its own throttle injector."""
        store = open_store(self.config)
        seed = self.shape.seed * 1000 + len(self.injectors)
        # the first request of each component is throttled (proof that every one is wired), then
        # ``throttle_rate`` of them at random
        self.injectors[component] = ThrottleInjector(store.models, rate=self.shape.throttle_rate,
                                                     first_n=1 if self.shape.throttle_rate else 0,
                                                     seed=seed).attach()
        return store

    def start(self) -> None:
        for ticker in self.tickers:
            ticker.thread.start()

    def halt(self, drain_seconds: float) -> bool:
        """Stop ticking, let running workers finish; True if the invoker went idle in time."""
        self.stop.set()
        for ticker in self.tickers:
            ticker.thread.join()
        idle = self.invoker.wait_idle(drain_seconds)
        self.invoker.shutdown(wait=idle)
        for injector in self.injectors.values():
            injector.detach()
        return idle

    def throttles(self) -> dict[str, int]:
        return {name: injector.injected for name, injector in self.injectors.items()}

    def requests_seen(self) -> int:
        return sum(injector.seen for injector in self.injectors.values())

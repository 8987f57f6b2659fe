"""A whole sosw-core deployment in one process, for ``make run``, ``local up`` and tests.

The Orchestrator and the Scavenger tick on background threads (a "minute" is as short as
you like), workers run in the :class:`LocalInvoker`'s thread pool and report in-process to the
WorkerAssistant, which hands each freed slot to the next task on completion. DynamoDB is real
(DynamoDB Local), and so are the rules that keep concurrency within each labourer's limit:
dispatch leases and hand-off transactions, not locks in this process.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sosw_core.adapters.cloudwatch import StaticMetrics
from sosw_core.adapters.dynamodb import Store
from sosw_core.adapters.invokers.local import LocalInvoker
from sosw_core.adapters.notifiers.local import MemoryNotifier
from sosw_core.clock import Clock, SystemClock
from sosw_core.config.model import SoswConfig
from sosw_core.services.worker import DirectReporter, Worker
from sosw_core.wiring import build_assistant, build_orchestrator, build_scavenger

logger = logging.getLogger(__name__)


@dataclass
class ConcurrencyGauge:
    """Counts work running at once per labourer, measured inside the workers (not from the store).

    For a :class:`Worker` it wraps ``process`` (the work itself, not the report that follows,
    during which the task is already completed); for a plain handler, the whole call.
    """

    running: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    runs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any) -> Any:
            with self._lock:
                self.running[name] += 1
                self.runs[name] += 1
                self.peak[name] = max(self.peak[name], self.running[name])
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self.running[name] -= 1
        return measured


class LocalRuntime:
    def __init__(self, config: SoswConfig, store: Store, workers: Mapping[str, Worker | Callable], *,
                 metrics: StaticMetrics | None = None, notifier: Any = None, clock: Clock | None = None,
                 tick_seconds: float = 1.0, sweep_seconds: float = 1.0, max_workers: int = 64):
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.notifier = notifier or MemoryNotifier()
        self.metrics = metrics or StaticMetrics({})
        self.tick_seconds = tick_seconds
        self.sweep_seconds = sweep_seconds
        self.gauge = ConcurrencyGauge()
        # Lambda kills a function at its timeout, and the lease must cover that timeout; here a
        # worker's context runs out exactly when its lease does (``deadline_at`` in its event).
        self.invoker = LocalInvoker({}, max_workers=max_workers, timeouts={
            lab.function_name: float(lab.max_duration_seconds) for lab in config.labourers})
        self.orchestrator = build_orchestrator(config, store, invoker=self.invoker,
                                               metrics=self.metrics.for_tick, clock=self.clock)
        self.scavenger = build_scavenger(config, store, notifier=self.notifier, clock=self.clock)
        self.assistant = build_assistant(config, store, clock=self.clock, invoker=self.invoker,
                                         metrics=self.metrics.for_tick,
                                         health_refresh_seconds=tick_seconds)
        reporter = DirectReporter(self.assistant)
        for labourer in config.labourers:
            worker = workers[labourer.id]
            handler: Callable[..., Any]
            if isinstance(worker, Worker):
                worker.reporter = reporter
                # counted around process() only: the report after it is the assistant's work
                worker.process = self.gauge.wrap(labourer.id, worker.process)  # type: ignore[method-assign]
                handler = worker
            else:
                handler = self.gauge.wrap(labourer.id, worker)
            self.invoker.handlers[labourer.function_name] = handler
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def tick(self) -> None:
        """One orchestrator tick."""
        self.orchestrator.tick(self.clock.now())

    def sweep(self) -> None:
        self.scavenger.sweep(self.clock.now())

    def _loop(self, step: Callable[[], None], every: float, name: str) -> None:
        while not self._stop.is_set():
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - a ticker survives one bad tick, like a Lambda
                logger.exception("%s tick failed", name)
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            self._stop.wait(every)

    def start(self) -> LocalRuntime:
        for name, step, every in (("orchestrator", self.tick, self.tick_seconds),
                                  ("scavenger", self.sweep, self.sweep_seconds)):
            thread = threading.Thread(target=self._loop, args=(step, every, name), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, drain_seconds: float = 30.0) -> None:
        """Stop ticking, then let running workers finish and report (tasks stay consistent)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.invoker.wait_idle(drain_seconds)
        self.invoker.shutdown(wait=True)
        self.sweep()  # a last pass: alerts for tasks that died since the previous sweep

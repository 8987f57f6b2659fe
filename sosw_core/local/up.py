"""``sosw-core local up``: a long-running local deployment for trying jobs and workers by hand.

DynamoDB Local (started here unless an endpoint is given), the configured tables, and the
Orchestrator, Scavenger and WorkerAssistant of a :class:`LocalRuntime` running the labourers'
handlers in-process. It runs until :meth:`LocalDeployment.stop` (Ctrl-C in the CLI), which
stops dispatching first, lets running workers finish and report, then sweeps once: every task
is left queued, retrying, completed or dead — or INVOKED only if its worker outlived the drain,
in which case its lease expires and the next Scavenger retries it.

Handlers per labourer, in this order: ``--worker ID=module:attribute``; the demo workers of
``sosw-core demo`` for the ids ``thumbnails``, ``invoices`` and ``emails``; by convention the
``lambda_handler`` of ``workers/<id>/handler.py`` (the layout of this repository's workers).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from sosw_core.adapters.dynamodb import create_tables
from sosw_core.config.model import SoswConfig
from sosw_core.errors import ConfigError
from sosw_core.local.runtime import LocalRuntime
from sosw_core.services.worker import Worker
from sosw_core.wiring import build_store

Handler = Worker | Callable[..., Any]


def demo_handlers() -> dict[str, Handler]:
    from sosw_core.examples.demo_workers import Emails, Invoices, Thumbnails

    return {"thumbnails": Thumbnails(), "invoices": Invoices(), "emails": Emails()}


def load_handler(spec: str, where: str) -> Handler:
    """``package.module:attribute`` → the object (a Worker class is instantiated).

    Modules are looked up from the current directory too (as ``python -m`` would), so a
    project's own ``workers/`` package is found when the command runs in the project.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(where, f"must look like package.module:attribute, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(where, f"cannot load {spec!r}: {exc}") from exc
    if isinstance(target, type) and issubclass(target, Worker):
        return target()
    owner = getattr(target, "__self__", None)  # ``SumWorker.handler``: the documented Lambda entry
    if isinstance(owner, type) and issubclass(owner, Worker):
        return owner()
    if not callable(target):
        raise ConfigError(where, f"{spec!r} is not callable")
    return target


def resolve_handlers(config: SoswConfig, explicit: Mapping[str, str]) -> dict[str, Handler]:
    """One handler per configured labourer; a ConfigError naming the first one without."""
    unknown = sorted(set(explicit) - {lab.id for lab in config.labourers})
    if unknown:
        raise ConfigError(f"--worker {unknown[0]}", "names no configured labourer")
    demos = demo_handlers()
    handlers: dict[str, Handler] = {}
    for labourer in config.labourers:
        if labourer.id in explicit:
            handlers[labourer.id] = load_handler(explicit[labourer.id], f"--worker {labourer.id}")
        elif labourer.id in demos:
            handlers[labourer.id] = demos[labourer.id]
        else:
            spec = f"workers.{labourer.id}.handler:lambda_handler"
            try:
                handlers[labourer.id] = load_handler(spec, f"labourers.{labourer.id}")
            except ConfigError as exc:
                raise ConfigError(f"labourers.{labourer.id}",
                                  f"has no local handler: pass --worker {labourer.id}=module:attribute "
                                  f"(tried {spec}: {exc.rule})") from exc
    return handlers


class LocalDeployment:
    """Tables + runtime on a DynamoDB endpoint; :meth:`start`, then :meth:`stop`."""

    def __init__(self, config: SoswConfig, handlers: Mapping[str, Handler], *,
                 tick_seconds: float, drain_seconds: float = 30.0):
        if not config.labourers:
            raise ConfigError("labourers", "is empty: configure at least one labourer "
                                           "(e.g. --config examples/local)")
        self.config = config
        self.store = build_store(config)
        self.runtime = LocalRuntime(config, self.store, handlers, tick_seconds=tick_seconds,
                                    sweep_seconds=tick_seconds)
        self.drain_seconds = drain_seconds

    def start(self) -> list[str]:
        """Create missing tables and start ticking; the tables created."""
        created = create_tables(self.store.models)
        self.runtime.start()
        return created

    def counts(self) -> dict[str, dict[str, int]]:
        return {lab.id: {state.value: n for state, n in self.store.queries.counts(lab.id).items()}
                for lab in self.config.labourers}

    def stop(self) -> None:
        self.runtime.stop(drain_seconds=self.drain_seconds)

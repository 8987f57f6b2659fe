"""Notifiers for local runs and tests: keep alerts in memory, or log them."""

from __future__ import annotations

import logging
import threading

from sosw_core.adapters.notifiers.base import DeadTaskAlert

logger = logging.getLogger(__name__)


class MemoryNotifier:
    """Keeps every alert batch (thread-safe); ``alerts`` flattens them."""

    def __init__(self) -> None:
        self.batches: list[list[DeadTaskAlert]] = []
        self._lock = threading.Lock()

    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        with self._lock:
            self.batches.append(list(alerts))

    @property
    def alerts(self) -> list[DeadTaskAlert]:
        with self._lock:
            return [a for batch in self.batches for a in batch]


class LogNotifier:
    """One WARNING record per batch, naming the task ids (no payloads)."""

    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        logger.warning("dead tasks", extra={"count": len(alerts),
                                            "task_ids": [a.task_id for a in alerts],
                                            "labourers": sorted({a.labourer_id for a in alerts})})

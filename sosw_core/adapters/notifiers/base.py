"""Where alerts about dead tasks go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DeadTaskAlert:
    task_id: str
    labourer_id: str
    attempts: int
    error_type: str | None
    error_message: str | None


class Notifier(Protocol):
    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        """Publish one batch of alerts (one scavenger pass); raise if it could not be sent."""

"""Alerts about dead tasks on an SNS topic: one publish per batch, split only when too big.

Message (JSON)::

    {"alert": "dead_tasks", "count": 2, "part": 1, "parts": 1,
     "tasks": [{"task_id": "t-1", "labourer_id": "w", "attempts": 3,
                "error_type": "ValueError", "error_message": "…"}, ...]}

An SNS message is at most 256 KB. Error messages are cut to ``ERROR_MESSAGE_CHARS`` so one
task's entry stays small; a batch whose message would be larger is sent as several publishes
(``part``/``parts``). If a later part fails, the earlier parts were already sent: the error
is raised (the scavenger then keeps the alerts to send again), so subscribers may see a task
twice but never miss one. The client is injected; its region is the caller's choice
(``boto3.client("sns")`` uses ``AWS_REGION``).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from sosw_core.adapters.notifiers.base import DeadTaskAlert
from sosw_core.adapters.notifiers.local import LogNotifier, MemoryNotifier

logger = logging.getLogger(__name__)

__all__ = ["LogNotifier", "MemoryNotifier", "SnsNotifier"]

SNS_MESSAGE_LIMIT = 256 * 1024
MESSAGE_BUDGET = SNS_MESSAGE_LIMIT - 4 * 1024  # room for the envelope fields around the tasks
SUBJECT_LIMIT = 100
ERROR_MESSAGE_CHARS = 1000
_SUBJECT_UNSAFE = re.compile(r"[^\x20-\x7e]")  # SNS subjects: printable ASCII, no line breaks


def alert_entry(alert: DeadTaskAlert) -> dict[str, Any]:
    return {"task_id": alert.task_id, "labourer_id": alert.labourer_id, "attempts": alert.attempts,
            "error_type": alert.error_type,
            "error_message": (alert.error_message or "")[:ERROR_MESSAGE_CHARS] or None}


def subject_for(alerts: list[DeadTaskAlert]) -> str:
    labourers = sorted({a.labourer_id for a in alerts})
    noun = "task" if len(alerts) == 1 else "tasks"
    text = f"sosw-core: {len(alerts)} dead {noun} ({', '.join(labourers)})"
    text = _SUBJECT_UNSAFE.sub("?", text)
    return text if len(text) <= SUBJECT_LIMIT else text[:SUBJECT_LIMIT - 1] + "~"


def split_entries(entries: list[dict[str, Any]], budget: int = MESSAGE_BUDGET) -> list[list[dict[str, Any]]]:
    """Entries packed in order into parts whose JSON stays within ``budget`` bytes."""
    parts: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = len(json.dumps(entry).encode()) + 2  # ", " between entries
        if current and size + entry_size > budget:
            parts.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        parts.append(current)
    return parts


class SnsNotifier:
    """A :class:`~sosw_core.adapters.notifiers.base.Notifier` publishing to ``topic_arn``."""

    def __init__(self, client: Any, topic_arn: str):
        self.client = client
        self.topic_arn = topic_arn

    def notify_dead(self, alerts: list[DeadTaskAlert]) -> None:
        if not alerts:
            return
        parts = split_entries([alert_entry(a) for a in alerts])
        subject = subject_for(alerts)
        for number, entries in enumerate(parts, start=1):
            message = json.dumps({"alert": "dead_tasks", "count": len(entries), "part": number,
                                  "parts": len(parts), "tasks": entries})
            self.client.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)
        logger.debug("dead task alert published", extra={
            "count": len(alerts), "parts": len(parts), "task_ids": [a.task_id for a in alerts][:50],
            "labourers": sorted({a.labourer_id for a in alerts})})

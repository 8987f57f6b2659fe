"""Where alerts about dead tasks go: the Notifier protocol and its adapters."""

from sosw_core.notifiers.base import DeadTaskAlert, Notifier
from sosw_core.notifiers.local import LogNotifier, MemoryNotifier
from sosw_core.notifiers.sns import SnsNotifier

__all__ = ["DeadTaskAlert", "LogNotifier", "MemoryNotifier", "Notifier", "SnsNotifier"]

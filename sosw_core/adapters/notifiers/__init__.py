"""Where alerts about dead tasks go: the Notifier protocol and its adapters."""

from sosw_core.adapters.notifiers.base import DeadTaskAlert, Notifier
from sosw_core.adapters.notifiers.local import LogNotifier, MemoryNotifier
from sosw_core.adapters.notifiers.sns import SnsNotifier

__all__ = ["DeadTaskAlert", "LogNotifier", "MemoryNotifier", "Notifier", "SnsNotifier"]

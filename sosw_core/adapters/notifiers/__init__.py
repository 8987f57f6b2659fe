"""Where alerts about dead tasks go: the Notifier protocol and its adapters.

Names are loaded when first used (PEP 562), like :mod:`sosw_core.adapters.invokers`: importing
the package loads only what is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sosw_core.lazy import lazy_exports

_EXPORTS = {
    "DeadTaskAlert": "sosw_core.adapters.notifiers.base",
    "Notifier": "sosw_core.adapters.notifiers.base",
    "LogNotifier": "sosw_core.adapters.notifiers.local",
    "MemoryNotifier": "sosw_core.adapters.notifiers.local",
    "SnsNotifier": "sosw_core.adapters.notifiers.sns",
}

__all__ = ["DeadTaskAlert", "LogNotifier", "MemoryNotifier", "Notifier", "SnsNotifier"]

if TYPE_CHECKING:
    from sosw_core.adapters.notifiers.base import DeadTaskAlert, Notifier
    from sosw_core.adapters.notifiers.local import LogNotifier, MemoryNotifier
    from sosw_core.adapters.notifiers.sns import SnsNotifier


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

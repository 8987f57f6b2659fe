"""Where alerts about dead tasks go: the Notifier protocol and its adapters.

Names are loaded when first used (PEP 562), like :mod:`sosw_core.adapters.invokers`: importing
the package loads only what is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

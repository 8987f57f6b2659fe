"""Where alerts about dead tasks go: the domain's :class:`Notifier` protocol and its alert value
(:mod:`sosw_core.domain.ports`), re-exported for the adapters."""

from sosw_core.domain.ports import DeadTaskAlert, Notifier

__all__ = ["DeadTaskAlert", "Notifier"]

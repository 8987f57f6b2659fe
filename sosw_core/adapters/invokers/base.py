"""How the orchestrator starts a worker: an asynchronous Lambda invocation."""

from __future__ import annotations

from typing import Any, Protocol

from sosw_core.errors import SoswError


class InvokeError(SoswError):
    """The invocation was not accepted (the worker will not run for it)."""

    def __init__(self, function_name: str, reason: str):
        self.function_name = function_name
        self.reason = reason
        super().__init__(f"invoke {function_name}: {reason}")


class Invoker(Protocol):
    def invoke(self, function_name: str, event: dict[str, Any]) -> None:
        """Start ``function_name`` with ``event`` asynchronously (InvocationType=Event).

        Returns once the invocation is accepted; raises InvokeError if it was not.
        """

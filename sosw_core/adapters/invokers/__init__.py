"""How the orchestrator starts workers: the Invoker protocol and its adapters."""

from sosw_core.adapters.invokers.base import InvokeError, Invoker
from sosw_core.adapters.invokers.lambda_ import ASYNC_PAYLOAD_LIMIT, LambdaInvoker
from sosw_core.adapters.invokers.local import LocalContext, LocalInvoker

__all__ = ["ASYNC_PAYLOAD_LIMIT", "InvokeError", "Invoker", "LambdaInvoker", "LocalContext", "LocalInvoker"]

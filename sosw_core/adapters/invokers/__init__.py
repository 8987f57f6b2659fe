"""How the orchestrator starts workers: the Invoker protocol and its adapters.

Names are loaded when first used (PEP 562): ``LambdaInvoker`` needs botocore, and importing
this package (or :mod:`.base`, or the local invoker) must not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sosw_core.lazy import lazy_exports

_EXPORTS = {
    "ASYNC_PAYLOAD_LIMIT": "sosw_core.adapters.invokers.base",
    "InvokeError": "sosw_core.adapters.invokers.base",
    "Invoker": "sosw_core.adapters.invokers.base",
    "LambdaInvoker": "sosw_core.adapters.invokers.lambda_",
    "LocalContext": "sosw_core.adapters.invokers.local",
    "LocalInvoker": "sosw_core.adapters.invokers.local",
}

__all__ = ["ASYNC_PAYLOAD_LIMIT", "InvokeError", "Invoker", "LambdaInvoker", "LocalContext", "LocalInvoker"]

if TYPE_CHECKING:
    from sosw_core.adapters.invokers.base import ASYNC_PAYLOAD_LIMIT, InvokeError, Invoker
    from sosw_core.adapters.invokers.lambda_ import LambdaInvoker
    from sosw_core.adapters.invokers.local import LocalContext, LocalInvoker


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

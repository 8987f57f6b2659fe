"""Why one labourer's dispatch in one Orchestrator tick stopped where it did.

Every :class:`~sosw_core.services.orchestrator.DispatchRecord` names exactly one
:class:`StopReason`; what varies (the invoker's refusal) is in the record's ``detail``, an error
in its ``error``, the health status in its ``status``. The values are the words the dispatch log
has always used, so a log query written for them still matches.
"""

from __future__ import annotations

from enum import StrEnum


class StopReason(StrEnum):
    """Why a dispatch stopped, in the order its checks run."""

    RATE_LIMIT = "rate limit"  # max_invocations_per_minute used up (before or during the dispatch)
    UNHEALTHY = "health"  # the health status allows no invocation (``status`` says which)
    QUEUE_EMPTY = "queue empty"  # the queue read returned fewer tasks than asked: all were seen
    AT_MAXIMUM = "running at maximum"  # max_simultaneous_invocations (times health) is running
    LEASE_HELD = "another orchestrator is dispatching"  # the labourer's dispatch lease is taken
    LEASE_HALF_SPENT = "dispatch lease half spent"  # a slow dispatch stops before its lease ends
    DESIRED_REACHED = "desired reached"  # as many invoked as the cap allowed
    CLAIMS_LOST = "claims lost"  # every queue read allowed, and others claimed what it saw
    INVOKE_FAILED = "invoke failed"  # the invoker refused a task (``detail``: its reason)
    ERROR = "error"  # the dispatch raised (``error``: the exception)

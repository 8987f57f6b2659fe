"""Per-labourer dispatch leases: one dispatcher of a labourer at a time, across all orchestrators.

The concurrency limit is enforced by arithmetic: a dispatch reads how many tasks of the
labourer are INVOKED and claims at most ``max - running``. That is only sound if no other
dispatch of the same labourer claims between that read and its own claims. Several
Orchestrator Lambdas (an overlapping schedule, a manual run, a retry of the scheduled event)
would otherwise each see the same free slots and fill them all. Timeline without the lease::

    orchestrator A: count running = 8 (max 10) ─ claim 2 ───────────────► 10 running
    orchestrator B:      count running = 8 ───────── claim 2 ───────────► 12 running ✘

With it, B's acquire fails while A holds the lease and B skips the labourer this tick::

    orchestrator A: acquire ✔ ─ count 8 ─ claim 2 ─ release ✔
    orchestrator B:      acquire ✘ (held by A, lease_until in the future) ─ skip

A dispatcher that dies while holding a lease blocks the labourer's dispatch only until
``lease_until``; completion hand-offs (:mod:`sosw_core.services.handoff`) do not need the lease because
they never change the number of tasks running.

The lease rows live in the jobs table under the key ``#dispatch#<labourer id>`` (job ids may
not start with ``#``), so a deployment needs no extra table and scans of the tasks table see
tasks only.
"""

from __future__ import annotations

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from sosw_core.adapters.dynamodb.errors import dynamodb_errors, guarded_update
from sosw_core.adapters.dynamodb.models import Models

KEY_PREFIX = "#dispatch#"


def lease_key(labourer_id: str) -> str:
    return f"{KEY_PREFIX}{labourer_id}"


class DispatchLeases:
    """Acquire and release the dispatch lease of a labourer; each one guarded UpdateItem."""

    def __init__(self, models: Models, *, endpoint: str | None = None):
        self._lease = models.lease
        self.endpoint = endpoint

    def _update(self, labourer_id: str, actions: list[Action], condition: Condition) -> bool:
        with dynamodb_errors(self._lease.Meta.table_name, self.endpoint):
            return guarded_update(self._lease(lease_key(labourer_id)), actions, condition)

    def acquire(self, labourer_id: str, owner: str, now: float, seconds: float) -> bool:
        """Hold the labourer's dispatch lease until ``now + seconds``; False if someone else does.

        Guard ``attribute_not_exists(owner) OR lease_until <= now``: free (never taken, or
        released), or abandoned by a dispatcher that died. Of two orchestrators racing for a
        free lease exactly one write succeeds. The row is created by the first acquire.
        """
        m = self._lease
        return self._update(labourer_id, [
            m.owner.set(owner), m.lease_until.set(now + seconds), m.dispatches.add(1),
        ], m.owner.does_not_exist() | (m.lease_until <= now))

    def release(self, labourer_id: str, owner: str) -> bool:
        """Give the lease back; False if it was no longer ours (it ran out and was taken over).

        Guard ``owner = <ours>``: a dispatcher that outlived its lease must not release the
        lease a newer dispatcher holds.
        """
        m = self._lease
        return self._update(labourer_id, [m.owner.remove(), m.lease_until.remove()],
                            m.owner == owner)

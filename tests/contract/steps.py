"""Steps the contract tests share (plain functions on any store backend)."""

from __future__ import annotations

from sosw_core.domain.task import NewTask, Task
from tests.support import labourer

T0 = 1_700_000_000.0
W = labourer("w", max_duration_seconds=60, max_attempts=3)


def queued(store, n=1, labourer_id="w", now=T0, prefix="t"):
    """Create ``n`` tasks ``<prefix>0..`` a millisecond apart (so their FIFO order is known)."""
    for i in range(n):
        assert store.tasks.create(NewTask(f"{prefix}{i}", labourer_id, {"i": i}), now + i * 0.001)


def claim_next(store, lab=W, now=T0 + 1) -> Task | None:
    ref = store.queries.next_queued(lab.id, 1)[0]
    return store.tasks.claim(ref.task_id, ref.attempts, lab, now)

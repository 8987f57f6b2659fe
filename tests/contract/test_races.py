"""Races on every backend whose writes are atomic: N threads start together, exactly one wins.

The threads meet at a barrier and then call the store at once, with no lock of the test's own:
what makes exactly one of them win is the store's guarded write (DynamoDB's condition
expression; the memory store's guard under its lock).

Not on moto: moto evaluates a condition and applies the update without a lock, so two threads
can both pass one guard. Measured with moto 5.2.5: of 40 rounds of 16 threads claiming one task,
12 rounds had 2 to 4 winners. That is moto's emulation, not DynamoDB's behaviour, so these
tests run on memory and DynamoDB Local.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sosw_core.domain.outcomes import Outcome
from sosw_core.domain.task import EventKind, TaskState
from tests.contract.steps import T0, W, claim_next, queued

N = 16
ROUNDS = 10  # tasks raced for one after the other
MOTO_RACES = ("evaluates a condition and applies the update without a lock: two threads can both "
              "pass one guard (see this module's docstring)")
pytestmark = pytest.mark.not_on_moto(reason=MOTO_RACES)


@pytest.fixture(autouse=True)
def _switch_threads_often():
    """Python switches threads every 1 µs instead of 5 ms, so a guard that were checked and
    applied in two steps would be interleaved: without its lock, the memory store lets several
    of 16 claimers win in about 4 of 10 rounds (measured); with it, none."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def race(n: int, call: Callable[[int], Any]) -> list[Any]:
    """``call(i)`` on ``n`` threads released together; the results in thread order."""
    start = threading.Barrier(n, timeout=60)

    def run(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))  # an exception in a thread is raised here


def test_n_claimers_of_one_task_exactly_one_wins(any_store):
    queued(any_store, ROUNDS)
    for ref in any_store.queries.next_queued("w", ROUNDS):
        results = race(N, lambda i, ref=ref: any_store.tasks.claim(ref.task_id, ref.attempts, W, T0 + 1 + i))
        winners = [task for task in results if task is not None]
        assert len(winners) == 1 and results.count(None) == N - 1, f"{ref.task_id}: {len(winners)} winners"
        row = any_store.tasks.get(ref.task_id)
        assert (row.state, row.attempts) == (TaskState.INVOKED, 1)
        assert [e.kind for e in row.events].count(EventKind.CLAIMED) == 1
        assert row.deadline_at == winners[0].deadline_at  # the winner's write is the row
    assert any_store.queries.count_running("w") == ROUNDS


def test_n_dispatchers_racing_for_a_free_lease_exactly_one_holds_it(any_store):
    results = race(N, lambda i: any_store.leases.acquire("w", f"orchestrator-{i}", T0, 30))
    assert results.count(True) == 1
    holder = f"orchestrator-{results.index(True)}"
    others = [f"orchestrator-{i}" for i in range(N) if f"orchestrator-{i}" != holder]
    assert not any(any_store.leases.release("w", owner) for owner in others)  # not theirs
    assert any_store.leases.release("w", holder)


def test_n_deliveries_of_one_completion_exactly_one_applies(any_store):
    queued(any_store)
    task = claim_next(any_store)
    results = race(N, lambda i: any_store.tasks.complete(task.task_id, task.token, 1, T0 + 2 + i / 1000,
                                                         result={"copy": i}))
    assert Counter(results) == {Outcome.APPLIED: 1, Outcome.DUPLICATE: N - 1}
    done = any_store.tasks.get(task.task_id)
    assert done.state is TaskState.COMPLETED
    assert done.result == {"copy": results.index(Outcome.APPLIED)}  # the winner's result, untouched since
    assert [e.kind for e in done.events].count(EventKind.COMPLETED) == 1


def test_n_hand_offs_to_one_next_task_exactly_one_claims_it(any_store):
    queued(any_store, N + 1)
    running = [claim_next(any_store) for _ in range(N)]
    (last,) = any_store.queries.next_queued("w", 1)
    results = race(N, lambda i: any_store.tasks.complete_and_claim(
        running[i].task_id, running[i].token, 1, W, T0 + 2, last))
    assert sum(1 for r in results if r.next_task is not None) == 1
    assert sum(1 for r in results if r.outcome is None and r.next_task is None) == N - 1  # NEXT_TAKEN
    assert any_store.tasks.get(last.task_id).attempts == 1
    assert any_store.queries.count_running("w") == N  # one completed, one claimed: N running still


def test_n_scavengers_expiring_one_lease_count_the_attempt_once(any_store):
    queued(any_store)
    task = claim_next(any_store)
    results = race(N, lambda i: any_store.tasks.expire(task.task_id, 1, W, T0 + 100))
    assert results.count((Outcome.APPLIED, TaskState.RETRYING)) == 1
    assert results.count((Outcome.LOST_RACE, None)) == N - 1
    row = any_store.tasks.get(task.task_id)
    assert [e.kind for e in row.events].count(EventKind.EXPIRED) == 1

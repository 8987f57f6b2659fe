"""The dispatch lease's contract: one dispatcher per labourer at a time."""

from __future__ import annotations

from tests.contract.steps import T0


def test_a_held_lease_is_refused_to_others_until_it_runs_out(any_store):
    leases = any_store.leases
    assert leases.acquire("w", "a", T0, 30)  # the first acquire creates the lease
    assert not leases.acquire("w", "b", T0 + 29, 30)
    assert leases.acquire("other", "b", T0 + 29, 30)  # each labourer has its own
    assert leases.acquire("w", "b", T0 + 30, 30)  # a's ran out (lease_until <= now): taken over
    assert not leases.release("w", "a")  # a outlived its lease: it must not free b's
    assert not leases.acquire("w", "c", T0 + 31, 30)


def test_a_released_lease_is_free_at_once(any_store):
    leases = any_store.leases
    assert leases.acquire("w", "a", T0, 30)
    assert leases.release("w", "a")
    assert not leases.release("w", "a")  # twice: it is no longer ours
    assert leases.acquire("w", "b", T0 + 1, 30)


def test_releasing_a_lease_never_taken_is_refused(any_store):
    assert not any_store.leases.release("w", "a")
    assert any_store.leases.acquire("w", "a", T0, 30)


def test_lease_rows_are_not_jobs(any_store):
    any_store.leases.acquire("w", "a", T0, 30)
    assert any_store.jobs.list_jobs() == []

"""Figures that show the faults really happened and how the run went (not failure counters).

From the workers' ledger alone (:func:`fault_figures`), and from the ledger's invoke times
with the rows' claim times (:func:`dispatch_lag`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from devtools.chaos.audit import COMPLETE_ACTION, Row
from devtools.chaos.ledger import Run


def fault_figures(runs: Sequence[Run], lease_seconds: float,
                  invoked_at: Mapping[tuple[str, int], float] | None = None) -> dict[str, Any]:
    """What the workers really did (proof that the faults happened), from the ledger alone."""
    behaviours = Counter(run.behaviour for run in runs)
    second = Counter(a.outcome for run in runs if run.behaviour == "duplicate"
                     for a in run.answers if a.delivery == 2)
    late = [a for run in runs if run.behaviour == "late" for a in run.answers
            if a.action == COMPLETE_ACTION and run.lease_end is not None and a.at > run.lease_end]
    crashes = Counter(a.outcome for run in runs if run.behaviour == "crash_reported" for a in run.answers)
    return {
        "runs": len(runs),
        "runs_by_behaviour": dict(sorted(behaviours.items())),
        "killed_at_timeout": sum(1 for run in runs if run.killed and run.behaviour != "crash_silent"),
        "hangs_killed": sum(1 for run in runs if run.killed and run.behaviour == "hang"),
        "crashes_silent": behaviours.get("crash_silent", 0),
        "crash_reports": dict(sorted(crashes.items())),
        "duplicate_deliveries": dict(sorted(second.items())),
        "late_reports_after_lease": len(late),
        "late_report_answers": dict(sorted(Counter(a.outcome for a in late).items())),
        "unfinished_runs": sum(1 for run in runs if run.end is None),
        # runs whose Lambda time (= what was left of the lease when the work began) was nearly gone
        "runs_started_with_under_10pct_of_lease": sum(
            1 for run in runs if run.deadline - run.start < 0.1 * lease_seconds),
        # seconds of the lease already gone when the work began (lease start = the claim's "now")
        "lease_spent_before_start_s": _quantiles(
            [run.started_at - (run.lease_end - lease_seconds) for run in runs if run.lease_end is not None]),
        # ... of which: from the claim's "now" to the invoke (a dispatch that took long) ...
        "lease_spent_before_invoke_s": _quantiles(
            [invoked_at[(run.task_id, run.attempt)] - (run.lease_end - lease_seconds) for run in runs
             if run.lease_end is not None and (run.task_id, run.attempt) in (invoked_at or {})]),
        # ... and from the invoke to the start of the work (waiting for a free pool thread, the GIL)
        "invoke_to_start_s": _quantiles(
            [run.started_at - invoked_at[(run.task_id, run.attempt)] for run in runs
             if (run.task_id, run.attempt) in (invoked_at or {})]),
    }


def dispatch_lag(rows: Iterable[Row], invoked_at: Mapping[tuple[str, int], float]) -> dict[str, Any]:
    """Seconds from a claim's ``now`` (its lease start) to the invoke, by who claimed.

    A completion hand-off writes the completion and the next claim in one transaction with one
    ``now``, so a claim whose time equals a completion time of the same labourer is a hand-off;
    the others are Orchestrator dispatches.
    """
    rows = list(rows)
    completions: dict[str, set[float]] = defaultdict(set)
    for row in rows:
        if row.state == "completed" and row.closed_at is not None:
            completions[row.labourer_id].add(row.closed_at)
    lags: dict[str, list[float]] = {"handoff": [], "orchestrator": []}
    for row in rows:
        for attempt, at in row.claims:
            invoked = invoked_at.get((row.task_id, attempt))
            if invoked is not None:
                lags["handoff" if at in completions[row.labourer_id] else "orchestrator"].append(invoked - at)
    return {source: {"claims": len(values), **_quantiles(values)} for source, values in lags.items()}


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1], 3)}

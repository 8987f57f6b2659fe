"""The verdict of a chaos run, computed only from the table rows and the workers' ledger.

Nothing here reads a return value of the library: the rows come from a full Scan of the tasks
table, the runs from :class:`~devtools.chaos.ledger.Ledger`, the alerts from the notifier's
inbox. Failure counters (all must be 0):

* ``lost``: planned tasks missing from the table, or not COMPLETED/DEAD in it;
* ``duplicated``: rows that are not in the plan, extra rows with the same (job, labourer,
  payload), and task ids created twice: a row whose history starts more than once, or a task
  whose runs were handed two different tokens (every creation draws a new token);
* ``reruns_after_completion``: runs (task, attempt) invoked after the task's completion was
  accepted: a claim that follows the ``completed`` event in the row's history, or a ledger run
  of an attempt that was not claimed before it;
* ``max_running_over_limit``: the largest excess, over all labourers, of the runs observed at
  once in the ledger over ``max_simultaneous_invocations``;
* ``closed_twice``: final rows whose history holds more than one closing event;
* ``completion_accounting``: completed tasks without exactly one completion answered
  ``applied`` in the ledger, and dead tasks with one;
* ``alert_errors``: dead tasks without exactly one alert, and alerts for tasks that are not dead.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from devtools.chaos.ledger import Run, peak_moment

COMPLETE_ACTION = "mark_task_as_completed"
FAILURE_COUNTERS = ("lost", "duplicated", "reruns_after_completion", "max_running_over_limit",
                    "closed_twice", "completion_accounting", "alert_errors")
EVIDENCE_LIMIT = 5  # task ids named per failure counter


@dataclass(frozen=True)
class Planned:
    task_id: str
    labourer_id: str
    job_id: str
    payload: str  # canonical JSON


@dataclass(frozen=True)
class Row:
    """The columns of one scanned task row the audit needs."""

    task_id: str
    labourer_id: str
    job_id: str | None
    payload: str
    state: str
    token: str
    events: tuple[tuple[str, int], ...]  # (event, attempt) in history order
    closed_at: float | None = None
    claims: tuple[tuple[int, float], ...] = ()  # (attempt, at) of each claim: its lease started at ``at``


@dataclass(frozen=True)
class Verdict:
    counters: dict[str, int]
    states: dict[str, int]
    started_after_completion: dict[str, int]  # see _late_starts ("idle": no Lambda time left)
    dead_with_a_succeeding_attempt: int  # see _starved
    peaks: dict[str, int]
    per_labourer: dict[str, dict[str, int]]
    evidence: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, list[str]]:
        """Evidence of the failure counters (the rest of ``evidence`` are notes)."""
        return {k: v for k, v in self.evidence.items() if not k.startswith("note:")}

    @property
    def ok(self) -> bool:
        return all(self.counters[name] == 0 for name in FAILURE_COUNTERS)


class _Evidence(defaultdict):
    def __init__(self) -> None:
        super().__init__(list)

    def add(self, counter: str, task_id: str, limit: int = EVIDENCE_LIMIT) -> None:
        if len(self[counter]) < max(limit, EVIDENCE_LIMIT) and task_id not in self[counter]:
            self[counter].append(task_id)


def audit(planned: Mapping[str, Planned], rows: Iterable[Row], runs: Sequence[Run],
          alerts: Iterable[str], limits: Mapping[str, int]) -> Verdict:
    rows_by_id = {row.task_id: row for row in rows}
    runs_by_task: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        runs_by_task[run.task_id].append(run)
    evidence = _Evidence()
    peaks = {lab: _peak(lab, limits[lab], runs, evidence) for lab in limits}
    counters = {
        "lost": _lost(planned, rows_by_id, evidence),
        "duplicated": _duplicates(planned, rows_by_id, runs_by_task, evidence),
        "reruns_after_completion": _reruns(rows_by_id, runs_by_task, evidence),
        "max_running_over_limit": max([max(0, peaks[lab] - limits[lab]) for lab in limits] or [0]),
        **_closings(planned, rows_by_id, runs_by_task, evidence),
        "alert_errors": _alert_errors(rows_by_id, Counter(alerts), evidence),
    }
    states = Counter(row.state for row in rows_by_id.values() if row.task_id in planned)
    per_labourer: dict[str, dict[str, int]] = {
        lab: {"max": limits[lab], "peak": peaks[lab], "tasks": 0, "completed": 0, "dead": 0}
        for lab in limits}
    for plan in planned.values():
        per_labourer[plan.labourer_id]["tasks"] += 1
        row = rows_by_id.get(plan.task_id)
        if row is not None and row.state in ("completed", "dead"):
            per_labourer[plan.labourer_id][row.state] += 1
    return Verdict(counters, dict(states), _late_starts(runs_by_task, evidence),
                   _starved(rows_by_id, runs_by_task, evidence), peaks, per_labourer, dict(evidence))


def _peak(labourer_id: str, limit: int, runs: Sequence[Run], evidence: _Evidence) -> int:
    """The labourer's peak of runs at once; over the limit, the runs open at that instant are evidence."""
    mine = [r for r in runs if r.labourer_id == labourer_id]
    span = [(r.start, r.end if r.end is not None else float("inf")) for r in mine]
    peak, at = peak_moment(span)
    if peak > limit and at is not None:
        for run, (start, end) in zip(mine, span, strict=True):
            if start <= at < end:
                evidence.add("max_running_over_limit", run.task_id, limit=limit + 1)
    return peak


def _lost(planned: Mapping[str, Planned], rows: Mapping[str, Row], evidence: _Evidence) -> int:
    lost = 0
    for task_id in planned:
        row = rows.get(task_id)
        if row is None or row.state not in ("completed", "dead"):
            lost += 1
            evidence.add("lost", task_id)
    return lost


def _closings(planned: Mapping[str, Planned], rows: Mapping[str, Row],
              runs_by_task: Mapping[str, list[Run]], evidence: _Evidence) -> dict[str, int]:
    """``closed_twice`` from the histories, ``completion_accounting`` against the ledger."""
    counts = {"closed_twice": 0, "completion_accounting": 0}
    for row in rows.values():
        closing = sum(1 for event, _ in row.events if event in ("completed", "dead"))
        if row.state in ("completed", "dead") and closing != 1:
            counts["closed_twice"] += 1
            evidence.add("closed_twice", row.task_id)
        if row.task_id not in planned:  # counted as duplicated already
            continue
        applied = sum(1 for run in runs_by_task.get(row.task_id, ()) for a in run.answers
                      if a.action == COMPLETE_ACTION and a.outcome == "applied")
        if (row.state == "completed" and applied != 1) or (row.state == "dead" and applied != 0):
            counts["completion_accounting"] += 1
            evidence.add("completion_accounting", row.task_id)
    return counts


def _alert_errors(rows: Mapping[str, Row], alerted: Counter, evidence: _Evidence) -> int:
    errors = 0
    for row in rows.values():
        if row.state == "dead" and alerted.get(row.task_id, 0) != 1:
            errors += 1
            evidence.add("alert_errors", row.task_id)
    for task_id, times in alerted.items():
        row = rows.get(task_id)
        if row is None or row.state != "dead":
            errors += times
            evidence.add("alert_errors", task_id)
    return errors


def _starved(rows: Mapping[str, Row], runs_by_task: Mapping[str, list[Run]], evidence: _Evidence) -> int:
    """Dead tasks that had an attempt told to succeed: it ran out of Lambda time (its lease was
    spent before it could finish), or its late completion came after the task had died."""
    starved = 0
    for row in rows.values():
        if row.state == "dead" and any(run.behaviour in ("ok", "duplicate", "late")
                                       for run in runs_by_task.get(row.task_id, ())):
            starved += 1
            evidence.add("note:dead_with_a_succeeding_attempt", row.task_id)
    return starved


def _late_starts(runs_by_task: Mapping[str, list[Run]], evidence: _Evidence) -> dict[str, int]:
    """Runs that began after their task's completion was accepted (attempts invoked before it).

    ``closed_at`` is the assistant's ``now``, read before its write; the ledger's time of the
    "applied" answer comes after the write, so that is what the runs' starts are compared with.
    """
    late = {"idle": 0, "worked": 0}
    for task_id, task_runs in runs_by_task.items():
        accepted = [a.at for run in task_runs for a in run.answers
                    if a.action == COMPLETE_ACTION and a.outcome == "applied"]
        if not accepted:
            continue
        for run in task_runs:
            if run.started_at > min(accepted):
                kind = "idle" if run.deadline <= run.start else "worked"
                late[kind] += 1
                if kind == "worked":
                    evidence.add("note:started_after_completion", task_id)
    return late


def _duplicates(planned: Mapping[str, Planned], rows: Mapping[str, Row],
                runs_by_task: Mapping[str, list[Run]], evidence: _Evidence) -> int:
    count = 0
    for task_id in rows:
        if task_id not in planned:
            count += 1
            evidence.add("duplicated", task_id)
    same_work = Counter((row.job_id, row.labourer_id, row.payload) for row in rows.values())
    for row in rows.values():
        if same_work[(row.job_id, row.labourer_id, row.payload)] > 1:
            evidence.add("duplicated", row.task_id)
    count += sum(n - 1 for n in same_work.values() if n > 1)
    for task_id, row in rows.items():
        created = sum(1 for event, _ in row.events if event == "created")
        tokens = {run.token for run in runs_by_task.get(task_id, ())}
        if created != 1 or tokens - {row.token}:
            count += 1
            evidence.add("duplicated", task_id)
    return count


def _reruns(rows: Mapping[str, Row], runs_by_task: Mapping[str, list[Run]],
            evidence: _Evidence) -> int:
    reruns: set[tuple[str, int]] = set()
    for task_id, row in rows.items():
        if row.state != "completed":
            continue
        kinds = [event for event, _ in row.events]
        if "completed" not in kinds:
            continue
        at = kinds.index("completed")
        claimed_before = {attempt for event, attempt in row.events[:at] if event == "claimed"}
        reruns |= {(task_id, attempt) for event, attempt in row.events[at + 1:] if event == "claimed"}
        reruns |= {(task_id, run.attempt) for run in runs_by_task.get(task_id, ())
                   if run.attempt not in claimed_before}
    for task_id, _ in sorted(reruns):
        evidence.add("reruns_after_completion", task_id)
    return len(reruns)

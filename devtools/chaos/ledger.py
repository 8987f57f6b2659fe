"""The workers' own records: every run of every task, kept in memory, independent of DynamoDB.

A run is one execution of a worker for one attempt of a task. The ledger keeps, per run, the
attempt and token it was given, the behaviour it was told to show, when its work started and
ended, and every answer the WorkerAssistant gave to its reports. The audit compares these
records with the table rows; nothing here asks the library what it believes.

Concurrency is measured on the work itself (``start`` to ``end``, monotonic clock), not on
the report that follows it. A run stopped at its Lambda timeout ends at its context's
deadline: that is the instant Lambda would have killed it (the thread that plays the killed
function only notices a few milliseconds later).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Answer:
    """The WorkerAssistant's answer to one report delivery."""

    action: str  # mark_task_as_completed | mark_task_as_failed | heartbeat
    outcome: str  # applied | duplicate | stale | refused | error:<ExceptionType>
    at: float  # wall clock (epoch s) when the answer came back
    delivery: int = 1  # 2 for the second delivery of a duplicated report


@dataclass(frozen=True)
class Run:
    seq: int
    task_id: str
    labourer_id: str
    attempt: int
    token: str
    behaviour: str
    started_at: float  # wall clock (epoch s)
    start: float  # monotonic
    deadline: float  # monotonic: when the run's context (its Lambda timeout, its lease) ends
    lease_end: float | None  # wall clock: ``deadline_at`` from the worker event
    end: float | None = None  # monotonic; None while the work goes on
    killed: bool = False  # stopped at its timeout (or died) without reporting
    answers: tuple[Answer, ...] = ()


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """Most intervals ``[start, end)`` open at one instant (an end at t comes before a start at t)."""
    return peak_moment(intervals)[0]


def peak_moment(intervals: Iterable[tuple[float, float]]) -> tuple[int, float | None]:
    """The peak of :func:`peak_concurrency` and the first instant it is reached (None: no intervals)."""
    points: list[tuple[float, int]] = []
    for start, end in intervals:
        points += [(start, 1), (end, -1)]
    points.sort()
    running = peak = 0
    at = None
    for t, step in points:
        running += step
        if running > peak:
            peak, at = running, t
    return peak, at


@dataclass
class Ledger:
    """Thread-safe; one per chaos run, shared by every worker."""

    _runs: list[Run] = field(default_factory=list)
    _running: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)
    _invoked: dict = field(default_factory=dict)  # (task_id, attempt) -> wall clock of the invoke

    def invoked(self, task_id: str, attempt: int, at: float) -> None:
        """The invoker accepted an invocation of this attempt (to tell dispatch lag from queueing)."""
        with self._lock:
            self._invoked.setdefault((task_id, attempt), at)

    def invoked_at(self) -> dict[tuple[str, int], float]:
        with self._lock:
            return dict(self._invoked)

    def begin(self, *, task_id: str, labourer_id: str, attempt: int, token: str, behaviour: str,
              remaining_seconds: float, lease_end: float | None) -> int:
        """Record a run's start; it becomes this thread's current run."""
        start = time.monotonic()
        with self._lock:
            seq = len(self._runs)
            self._runs.append(Run(seq, task_id, labourer_id, attempt, token, behaviour, time.time(),
                                  start, start + remaining_seconds, lease_end))
            self._running[labourer_id] += 1
        self._local.seq = seq
        return seq

    def end(self, seq: int, *, killed: bool) -> None:
        """The work of run ``seq`` is over (a killed run ends at its deadline at the latest)."""
        now = time.monotonic()
        with self._lock:
            run = self._runs[seq]
            end = max(run.start, min(now, run.deadline)) if killed else now
            self._runs[seq] = replace(run, end=end, killed=killed)
            self._running[run.labourer_id] -= 1

    def answer(self, seq: int, action: str, outcome: str, delivery: int = 1) -> None:
        with self._lock:
            run = self._runs[seq]
            self._runs[seq] = replace(run, answers=(*run.answers, Answer(action, outcome, time.time(),
                                                                         delivery)))

    def current(self) -> int | None:
        """The run the calling thread is in (set by :meth:`begin`), or None."""
        return getattr(self._local, "seq", None)

    def get(self, seq: int) -> Run:
        with self._lock:
            return self._runs[seq]

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs)

    def running(self) -> dict[str, int]:
        with self._lock:
            return dict(self._running)

    def peaks(self) -> dict[str, int]:
        """Per labourer, the most runs whose work overlapped in time (unfinished runs: still open)."""
        by_labourer: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for run in self.runs():
            by_labourer[run.labourer_id].append((run.start, run.end if run.end is not None else float("inf")))
        return {labourer: peak_concurrency(spans) for labourer, spans in by_labourer.items()}

"""What a chaos worker does on one attempt of a task: chosen from a seed, the task id and the
attempt number, so a run is reproducible and a rerun of a task may behave differently.

=====================  =========================================================================
behaviour              what the worker does
=====================  =========================================================================
``ok``                 works a short random time, reports completion
``crash_reported``     raises: the Worker base class reports the failure
``crash_silent``       dies (a ``BaseException``, like an out-of-memory kill): nothing reported,
                       the lease runs out
``hang``               keeps working until its Lambda context has no time left, then stops
                       without reporting, as Lambda kills a function at its timeout
``duplicate``          completes; the completion is delivered twice (Lambda's at-least-once)
``late``               completes in time, but the report is delayed until after the lease ended
=====================  =========================================================================

A fraction of tasks (``doomed``) crash on every attempt: they use up their attempts and die.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Behaviour(StrEnum):
    OK = "ok"
    CRASH_REPORTED = "crash_reported"
    CRASH_SILENT = "crash_silent"
    HANG = "hang"
    DUPLICATE = "duplicate"
    LATE = "late"


@dataclass(frozen=True)
class Mix:
    """Probabilities per attempt (the rest is ``ok``), and the share of always-crashing tasks."""

    crash_reported: float = 0.05
    crash_silent: float = 0.05
    hang: float = 0.10
    duplicate: float = 0.05
    late: float = 0.05
    doomed: float = 0.01

    def __post_init__(self) -> None:
        for name in ("crash_reported", "crash_silent", "hang", "duplicate", "late", "doomed"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Mix.{name} must be between 0 and 1 (got {value})")
        if self._per_attempt_total() > 1.0:
            raise ValueError(f"Mix: the per-attempt probabilities add up to {self._per_attempt_total()} > 1")

    def _per_attempt_total(self) -> float:
        return self.crash_reported + self.crash_silent + self.hang + self.duplicate + self.late

    def bands(self) -> tuple[tuple[float, Behaviour], ...]:
        """Cumulative upper bounds of a uniform draw, in a fixed order."""
        bands, upper = [], 0.0
        for share, behaviour in ((self.crash_reported, Behaviour.CRASH_REPORTED),
                                 (self.crash_silent, Behaviour.CRASH_SILENT), (self.hang, Behaviour.HANG),
                                 (self.duplicate, Behaviour.DUPLICATE), (self.late, Behaviour.LATE)):
            upper += share
            bands.append((upper, behaviour))
        return tuple(bands)


def draw(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) from the seed and the parts (stable across processes)."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2 ** 64


def is_doomed(mix: Mix, seed: int, task_id: str) -> bool:
    return draw(seed, "doomed", task_id) < mix.doomed


def choose(mix: Mix, seed: int, task_id: str, attempt: int) -> Behaviour:
    """The behaviour of ``attempt`` (1-based) of ``task_id``."""
    if is_doomed(mix, seed, task_id):
        return Behaviour.CRASH_REPORTED
    value = draw(seed, "attempt", task_id, attempt)
    for upper, behaviour in mix.bands():
        if value < upper:
            return behaviour
    return Behaviour.OK


def work_seconds(seed: int, task_id: str, attempt: int, low: float, high: float) -> float:
    """How long the work of a non-hanging run takes (uniform in [low, high])."""
    return low + (high - low) * draw(seed, "work", task_id, attempt)

"""The differential harness: the same jobs through the real sosw 0.7.51 and through sosw-core.

sosw runs in its own venv (``.venv-sosw07``, built by ``make .venv-sosw07/.installed``; ``make
test`` builds it first) in ONE subprocess per batch of cases (``sosw07_runner.py``), with a
fixed ``PYTHONHASHSEED`` (sosw iterates sets of key names). Each case gets a verdict:

- ``same``: the same payloads in the same order (compared as decoded JSON; ``same key order``
  is counted apart, as stored payloads are re-encoded with sorted keys anyway).
- a documented difference (:data:`DIFFERENCES`), each checked against what sosw made;
- anything else is a mismatch, and the test fails with the job and both results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sosw_core.domain.chunking import plan
from sosw_core.errors import InvalidJob

ROOT = Path(__file__).resolve().parents[2]
SOSW07_PYTHON = ROOT / ".venv-sosw07" / "bin" / "python"
RUNNER = Path(__file__).with_name("sosw07_runner.py")
LABOURER = "w"

requires_sosw07 = pytest.mark.skipif(
    not SOSW07_PYTHON.exists(),
    reason="needs the real sosw 0.7.51 in .venv-sosw07: run `make .venv-sosw07/.installed` (`make test` does)")

SAME = "same"
REFUSED_CRASH = "refused: sosw 0.7 crashed"
DIFFERENCES = {
    "refused: a level written with both keys (sosw's result depended on the hash seed)",
    "refused: a batch size below 1 (sosw made no task for a negative one)",
    "fixed: singular level key (sosw made those tasks twice)",
    "fixed: custom keys beside an unchunked level kept (sosw dropped them)",
    "fixed: last_week on a Sunday",
    "fixed: empty chunkable_attrs (sosw crashed on every job)",
}


@dataclass(frozen=True)
class Case:
    name: str
    event: Any
    attrs: Sequence[str] = ("section", "store", "product")
    today: date = date(2019, 1, 31)
    variants: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def all_variants(self) -> dict[str, list[str]]:
        return {"default": list(self.attrs), **{name: list(attrs) for name, attrs in self.variants.items()}}

    def line(self, number: int) -> str:
        return json.dumps({"id": number, "event": self.event, "variants": self.all_variants(),
                           "today": self.today.isoformat(), "labourer": LABOURER})


def run_sosw07(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Each case's result from the real sosw 0.7.51: ``{"payloads": [...]}`` or ``{"crash": ...}``."""
    text = "".join(case.line(number) + "\n" for number, case in enumerate(cases))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([str(SOSW07_PYTHON), str(RUNNER)], input=text, capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sosw 0.7.51 runner failed ({done.returncode}): {done.stderr[-3000:]}")
    results = [json.loads(line) for line in done.stdout.splitlines()]
    if [result["id"] for result in results] != list(range(len(cases))):
        raise RuntimeError(f"the runner answered {len(results)} of {len(cases)} cases")
    return results


def run_ours(case: Case) -> list[dict[str, Any]] | InvalidJob:
    try:
        return list(plan(case.event, case.all_variants(), case.today))
    except InvalidJob as exc:
        return exc


def _keys_everywhere(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield key
            yield from _keys_everywhere(sub)
    elif isinstance(value, list):
        for item in value:
            yield from _keys_everywhere(item)


def _size(value: Any) -> int:
    """A batch size as sosw read it; 1 for one that is not a number (sosw crashed on it)."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and value.strip().lstrip("+-").isdigit()):
        return int(value)
    return 1


def _small_batch(value: Any) -> bool:
    """Does the job set some ``max_*_per_batch`` below 1?"""
    if isinstance(value, list):
        return any(_small_batch(item) for item in value)
    if not isinstance(value, dict):
        return False
    for key, sub in value.items():
        if key.startswith("max_") and key.endswith("_per_batch") and _size(sub) < 1:
            return True
        if _small_batch(sub):
            return True
    return False


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None  # not JSON: both sides refuse it, the verdict needs no job


def _event_job(case: Case) -> dict:
    event = _decoded(case.event)
    if isinstance(event, dict) and "job" in event:
        event = _decoded(event["job"])
    return event if isinstance(event, dict) else {}


def _dumps(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True)


def _kept_keys(theirs: dict, ours: dict, nested_keys: set[str]) -> bool:
    """Is ``ours`` sosw's payload with keys of some subdata added (or winning over a key from
    above, as the keys of every other subdata do)?"""
    if not set(theirs) <= set(ours):
        return False
    changed = {key for key in ours if key not in theirs or _dumps(ours[key]) != _dumps(theirs[key])}
    return bool(changed) and changed <= nested_keys


def verdict(case: Case, ours: list[dict[str, Any]] | InvalidJob, sosw: dict[str, Any]) -> str:
    """The case's verdict; AssertionError (with both results) when it is a mismatch."""
    job = _event_job(case)
    levels = case.all_variants().get(job.get("job_schema_name") or "default", [])
    singular = any(key in levels for key in _keys_everywhere(job))
    if "crash" in sosw:
        if isinstance(ours, InvalidJob):
            return REFUSED_CRASH
        if not levels:
            return "fixed: empty chunkable_attrs (sosw crashed on every job)"
        raise AssertionError(f"{case.name}: sosw 0.7.51 crashed ({sosw['crash']}), we gave {ours!r}\njob: {case.event!r}")
    theirs = sosw["payloads"]
    if isinstance(ours, InvalidJob):
        if "not both" in ours.rule:
            return "refused: a level written with both keys (sosw's result depended on the hash seed)"
        if "positive integer" in ours.rule and _small_batch(job):
            return "refused: a batch size below 1 (sosw made no task for a negative one)"
        raise AssertionError(f"{case.name}: we refused ({ours}), sosw 0.7.51 gave {theirs!r}\njob: {case.event!r}")
    if [_dumps(p) for p in ours] == [_dumps(p) for p in theirs]:
        return SAME
    if singular and not Counter(map(_dumps, ours)) - Counter(map(_dumps, theirs)) and len(theirs) > len(ours):
        return "fixed: singular level key (sosw made those tasks twice)"
    nested = {key for value in job.values() for key in _keys_everywhere(value)}
    pairs = list(zip(theirs, ours, strict=False))
    if len(ours) == len(theirs) and all(t == o or _kept_keys(t, o, nested) for t, o in pairs):
        return "fixed: custom keys beside an unchunked level kept (sosw dropped them)"
    if case.today.isoweekday() == 7 and str(job.get("period", "")).startswith("last_week"):
        return "fixed: last_week on a Sunday"
    if singular:  # the tasks once, and sosw's extra copies may also have lost keys beside a level
        return "fixed: singular level key (sosw made those tasks twice)"
    raise AssertionError(f"{case.name}: payloads differ\nours: {ours!r}\nsosw: {theirs!r}\njob: {case.event!r}")


def compare(cases: Sequence[Case]) -> tuple[Counter[str], int]:
    """Verdicts of all cases (one sosw subprocess), and how many ``same`` also kept the key order."""
    results = run_sosw07(cases)
    verdicts: Counter[str] = Counter()
    key_order = 0
    mismatches = []
    for case, sosw in zip(cases, results, strict=True):
        ours = run_ours(case)
        try:
            verdicts[verdict(case, ours, sosw)] += 1
        except AssertionError as exc:
            mismatches.append(str(exc))
            continue
        if not isinstance(ours, InvalidJob) and "payloads" in sosw and json.dumps(ours) == json.dumps(sosw["payloads"]):
            key_order += 1
    print(f"\n{len(cases)} cases: {dict(verdicts)}; same with the same key order: {key_order}", file=sys.stderr)
    assert not mismatches, f"{len(mismatches)} mismatches:\n\n" + "\n\n".join(mismatches[:10])
    assert set(verdicts) <= {SAME, REFUSED_CRASH, *DIFFERENCES}
    return verdicts, key_order

"""Chunking a job into task payloads, by the sosw 0.7 job format (a generator, never a list).

Levels are the variant's ``chunkable_attrs`` (singular names, e.g. section, store, product); a
job may write each singular or plural. At each level:

- the level **needs chunking** when it is isolated (``isolate_<plural>`` or
  ``max_<plural>_per_batch`` here or inherited from above — flags from above win) or when
  anything below one of its values needs chunking (isolation propagates upward);
- a level that needs chunking is split: a dict's values each become their own task (or go
  deeper); a dict whose values are all null, or a flat list, becomes one task per value (or per
  batch of ``max_<plural>_per_batch``); the value appears as a list under the plural key;
- a level that does not is passed along: a flat list, or a dict of nulls flattened to its
  keys, under the plural key; anything else raw under the key the job used.

Keys of the job and of every subdata travel into the payloads below them. The flags
(``isolate_*``, ``max_*_per_batch``), ``period`` and ``isolate_days`` steer the chunking and are
left out of the payloads. Dates are expanded first, then the levels per date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sosw_core.errors import InvalidJob
from sosw_core.scheduler.job import Job
from sosw_core.scheduler.periods import DEFAULT_PERIODS, PeriodRegistry

_FLAG = re.compile(r"isolate_\w*|max_\w*_per_batch")
_MAX = re.compile(r"max_\w+_per_batch")
_SCALAR = (str, int, float)  # bool is an int: accepted, as sosw did


def plural(attr: str) -> str:
    return f"{attr.rstrip('s')}s"


def _forms(attr: str) -> tuple[str, ...]:
    singular = attr.rstrip("s")
    return (singular, f"{singular}s") if singular != attr else (attr, f"{attr}s")


def _values(data: dict, key: str) -> list:
    value = data.get(key) or data.get(key.rstrip("s"))
    if not value:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _batch_size(data: dict, attr: str, path: str) -> int:
    key = f"max_{plural(attr)}_per_batch"
    if key not in data:
        return 1
    size = data[key]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidJob(f"{path}{key}", f"must be a positive integer (got {size!r})")
    return size


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def needs_chunking(attr: str, data: dict, attrs: Sequence[str], index: int) -> bool:
    """Does this level of ``data`` have to be split (isolated here, or something below is)?"""
    for form in _forms(attr):
        if data.get(f"isolate_{form}") or data.get(f"max_{form}_per_batch"):
            return True
    if index + 1 >= len(attrs):
        return False
    inherited = {k: v for k, v in data.items() if _FLAG.match(k)}
    for form in _forms(attr):
        for value in _values(data, form):
            if not isinstance(value, dict):
                continue
            for subdata in value.values():
                if isinstance(subdata, dict) and needs_chunking(
                        attrs[index + 1], {**subdata, **inherited}, attrs, index + 1):
                    return True
    return False


def _flatten(value: Any) -> list | None:
    """An unchunked level's value as a list of names, or None to pass it through raw."""
    if isinstance(value, list | tuple):
        return list(value) if all(isinstance(v, _SCALAR) for v in value) else None
    if isinstance(value, dict):
        if all(v is None for v in value.values()):
            return list(value)
        return [value] if len(value) == 1 else None  # sosw 0.7 wraps a one-key dict in a list
    return None


def _batches(skeleton: dict, key: str, values: list, size: int) -> Iterator[dict]:
    for start in range(0, len(values), size):
        yield {**skeleton, key: values[start:start + size]}


def _check_batch_flags(job: dict, path: str) -> None:
    for key, size in job.items():
        if _MAX.fullmatch(key) and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise InvalidJob(_join(path, key), f"must be a positive integer (got {size!r})")


def _chunk(job: dict, skeleton: dict, attrs: Sequence[str], index: int, path: str) -> Iterator[dict]:
    _check_batch_flags(job, path)
    if index >= len(attrs):
        yield {**job, **skeleton}
        return
    attr = attrs[index]
    merged = {**job, **skeleton}
    if not needs_chunking(attr, merged, attrs, index):
        for form in _forms(attr):
            if form in job:
                rest = {k: v for k, v in job.items() if k != form}
                value = job[form]
                if not value:
                    yield {**skeleton, **rest}
                    return
                flat = _flatten(value)
                if flat is not None:
                    yield {**skeleton, **rest, plural(attr): flat}
                    return
                break
        yield {**skeleton, **job}
        return
    size = _batch_size(job, attr, path) if f"max_{plural(attr)}_per_batch" in job \
        else _batch_size(skeleton, attr, path)
    for form in _forms(attr):
        if form not in job:
            continue
        values = _values(job, form)
        if not values:
            continue
        where = _join(path, form)
        task_skeleton = {**skeleton, **{k: v for k, v in job.items() if k != form}}
        if isinstance(job[form], list | tuple) and any(isinstance(v, dict | list) for v in values):
            raise InvalidJob(where, "a level to chunk must be a dict, a flat list or one value, "
                                    "not a list holding objects or lists")
        if isinstance(values[0], dict):
            yield from _chunk_dict(values[0], task_skeleton, attrs, index, where, size)
        else:
            if not all(isinstance(v, _SCALAR) for v in values):
                raise InvalidJob(where, "a level to chunk must hold strings or numbers")
            yield from _batches(task_skeleton, plural(attr), values, size)


def _chunk_dict(value: dict, task_skeleton: dict, attrs: Sequence[str], index: int, where: str,
                size: int) -> Iterator[dict]:
    attr = attrs[index]
    if all(v is None for v in value.values()):
        yield from _batches(task_skeleton, plural(attr), list(value), size)
        return
    for name, subdata in value.items():
        task = {**task_skeleton, plural(attr): [name]}
        if subdata is None:
            yield task
        elif isinstance(subdata, dict):
            if index + 1 >= len(attrs):
                yield {**task, **subdata}
            else:
                yield from _chunk(subdata, task, attrs, index + 1, f"{where}.{name}")
        else:
            raise InvalidJob(f"{where}.{name}", f"must be an object or null to be chunked, not "
                                                f"{type(subdata).__name__}")


def _dated(body: dict, today: date, periods: PeriodRegistry) -> Iterator[dict]:
    if "period" not in body:
        yield {k: v for k, v in body.items() if k != "isolate_days"}
        return
    rest = {k: v for k, v in body.items() if k not in ("period", "isolate_days")}
    dates = periods.expand(body["period"], today)
    if body.get("isolate_days"):
        for day in dates:
            yield {**rest, "date_list": [day]}
    else:
        yield {**rest, "date_list": dates}


def _payloads(job: Job, chunkable_attrs: Sequence[str], today: date,
              periods: PeriodRegistry) -> Iterator[dict[str, Any]]:
    attrs = tuple(chunkable_attrs)
    for dated in _dated(job.body, today, periods):
        for payload in _chunk(dated, {}, attrs, 0, ""):
            yield {k: v for k, v in payload.items() if not _FLAG.fullmatch(k)}


def validate(job: Job, chunkable_attrs: Sequence[str], today: date | None = None,
             periods: PeriodRegistry = DEFAULT_PERIODS) -> int:
    """Walk the whole job without keeping payloads; the task count, or InvalidJob with a path."""
    return sum(1 for _ in _payloads(job, chunkable_attrs, today or date(2000, 1, 1), periods))


def iter_task_payloads(job: Job, chunkable_attrs: Sequence[str], today: date,
                       periods: PeriodRegistry = DEFAULT_PERIODS) -> Iterator[dict[str, Any]]:
    """The task payloads, lazily; the whole job is validated before the first one is yielded."""
    validate(job, chunkable_attrs, today, periods)
    return _payloads(job, chunkable_attrs, today, periods)

"""Chunking a job into task payloads by the sosw 0.7 job format, lazily.

The levels are the variant's ``chunkable_attrs``: singular names (``section, store, product``);
a job writes each level as ``sections`` or ``section``. At each level of each dict:

- **Values.** A dict ``{name: subdata-or-null}`` (subdata is a dict holding the next level and
  custom keys), a flat list of strings/numbers, or one string/number.
- **Needs chunking** when ``isolate_<plural>`` (or ``isolate_<singular>``) is truthy or
  ``max_<plural>_per_batch`` is set, here or in any dict above (a flag set higher up wins), or
  when any subdata of this level needs chunking at the next level (isolation propagates up).
- **Chunked**: a flat list, one value or a dict of nulls gives one task per value, or per
  batch of ``max_<plural>_per_batch`` (the nearest setting wins); any other dict gives one task
  per name, going down into its subdata. The value sits as a list under the plural key. Where
  isolation is requested but the value cannot be split (a list holding objects or lists, a
  subdata that is not an object or null) the job is invalid.
- **Not chunked**: the first level passes the whole job through raw. Deeper, a flat list or a
  dict of nulls becomes a list under the plural key, a dict with one key becomes a one-element
  list holding it (as sosw 0.7 did), anything else stays raw under the key the job used.
- **Payloads.** A task holds the keys of the job and of every subdata above it (a lower one
  wins), so custom keys and the ``isolate_*`` / ``max_*_per_batch`` flags travel as in sosw
  0.7. An empty level value (null, ``{}``, ``[]``, ``""``) is dropped. A level that needs
  chunking but has no values gives one task without it (sosw 0.7 gave none).
- **Dates first.** ``period`` becomes ``date_list`` (see :mod:`.periods`), one task per date
  when ``isolate_days`` is truthy; both keys are removed. Then the levels, per date.

Payloads share nested values with the job; treat them as read-only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sosw_core.domain.job import Job, Variants, chunkable_attrs_for, parse_job
from sosw_core.domain.periods import DEFAULT_PERIODS, PeriodRegistry
from sosw_core.errors import ConfigError, InvalidJob

_DIGITS = re.compile(r"[0-9]+")
_SCALAR = (str, int, float)  # bool is an int: accepted, as sosw 0.7 did
DATE_KEYS = ("period", "isolate_days")


def plural(attr: str) -> str:
    """The plural key of a level: the singular name plus ``s``."""
    return f"{attr}s"


@dataclass(frozen=True)
class _Level:
    singular: str

    @property
    def plural(self) -> str:
        return plural(self.singular)

    @property
    def isolate_keys(self) -> tuple[str, str]:
        return f"isolate_{self.plural}", f"isolate_{self.singular}"

    @property
    def batch_keys(self) -> tuple[str, str]:
        return f"max_{self.plural}_per_batch", f"max_{self.singular}_per_batch"


@dataclass(frozen=True)
class _Scope:
    """What a dict inherits from the dicts above it."""

    flags: Mapping[str, Any] = field(default_factory=dict)  # isolate/max of the levels; upper wins
    sizes: Mapping[str, int] = field(default_factory=dict)  # max_*_per_batch; nearest wins


def _levels(chunkable_attrs: Sequence[str]) -> tuple[_Level, ...]:
    if isinstance(chunkable_attrs, str):
        raise ConfigError("chunkable_attrs", "must be a list of level names, not one string")
    levels = tuple(_Level(attr) for attr in chunkable_attrs)
    for level in levels:
        name = level.singular
        if not isinstance(name, str) or not name or name.endswith("s"):
            raise ConfigError("chunkable_attrs", f"{name!r} must be a singular name not ending in 's' "
                                                 "(a job may write it with an 's' added)")
    if len({level.singular for level in levels}) != len(levels):
        raise ConfigError("chunkable_attrs", f"names a level twice: {list(chunkable_attrs)}")
    return levels


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _batch_size(value: Any, path: str) -> int:
    """A positive integer, or a string of digits (sosw 0.7 applied ``int()``)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        try:
            value = int(value)
        except ValueError:  # more digits than Python converts (4300 by default)
            raise InvalidJob(path, f"must be a positive integer (got {len(value)} digits)") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidJob(path, f"must be a positive integer (got {_shown(value)})")
    return value


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _enter(levels: Sequence[_Level], data: dict, scope: _Scope, path: str) -> _Scope:
    """The scope of ``data``: its own flags under those from above; its batch sizes checked."""
    flags: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for level in levels:
        for key in level.isolate_keys:
            if key in data:
                flags[key] = data[key]
        for key in level.batch_keys:
            if key in data:
                flags[key] = sizes[key] = _batch_size(data[key], _join(path, key))
    if not flags:
        return scope
    return _Scope({**flags, **scope.flags}, {**scope.sizes, **sizes})


def _find(data: dict, level: _Level, path: str) -> tuple[str, Any] | None:
    """The key the job used for ``level`` in ``data``, and its value."""
    present = [key for key in (level.plural, level.singular) if key in data]
    if len(present) > 1:
        raise InvalidJob(_join(path, level.plural), f"give either {level.singular!r} or {level.plural!r}, not both")
    return (present[0], data[present[0]]) if present else None


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and not value)


def _subdicts(value: Any, path: str) -> Iterator[tuple[dict, str]]:
    """Every subdata dict of a level's value, with its path (dicts inside lists included)."""
    if isinstance(value, dict):
        for name, subdata in value.items():
            if isinstance(subdata, dict):
                yield subdata, _join(path, name)
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            if isinstance(item, dict):
                yield from _subdicts(item, f"{path}[{position}]")


def _needs_chunking(levels: Sequence[_Level], index: int, data: dict, scope: _Scope, path: str) -> bool:
    """Is ``levels[index]`` of ``data`` to be split? ``scope`` is already entered for ``data``."""
    level = levels[index]
    if any(scope.flags.get(key) for key in (*level.isolate_keys, *level.batch_keys)):
        return True
    found = _find(data, level, path)
    if index + 1 >= len(levels) or found is None:
        return False
    key_path = _join(path, found[0])
    return any(_needs_chunking(levels, index + 1, subdata, _enter(levels, subdata, scope, sub_path), sub_path)
               for subdata, sub_path in _subdicts(found[1], key_path))


def _split_names(value: Any, path: str) -> list | None:
    """The values of a level to split one by one, or None when it is a dict to go into."""
    if isinstance(value, dict):
        return list(value) if all(sub is None for sub in value.values()) else None
    if isinstance(value, list | tuple):
        if any(isinstance(item, dict | list | tuple) for item in value):
            raise InvalidJob(path, "cannot be split: a list holding objects or lists; use an object "
                                   "{name: subdata} or a flat list of strings and numbers")
        if not all(isinstance(item, _SCALAR) for item in value):
            raise InvalidJob(path, "cannot be split: the list must hold only strings and numbers")
        return list(value)
    if isinstance(value, _SCALAR):
        return [value]
    raise InvalidJob(path, f"cannot be split: {type(value).__name__} is not an object, a list or a value")


def _kept_as_list(value: Any) -> list | None:
    """A deeper level that is not split, as a list under the plural key; None keeps it raw."""
    if isinstance(value, list | tuple):
        return list(value) if all(isinstance(item, _SCALAR) for item in value) else None
    if isinstance(value, dict):
        if all(sub is None for sub in value.values()):
            return list(value)
        return [value] if len(value) == 1 else None
    return None


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


def _subdata(name: Any, subdata: Any, path: str) -> dict | None:
    if subdata is None or isinstance(subdata, dict):
        return subdata
    raise InvalidJob(_join(path, name), f"must be an object or null to be split, not {type(subdata).__name__}")


def _batch(scope: _Scope, level: _Level) -> int:
    return scope.sizes.get(level.batch_keys[0]) or scope.sizes.get(level.batch_keys[1]) or 1


def _as_is(level: _Level, data: dict, found: tuple[str, Any] | None, top: bool) -> dict:
    """``data`` where ``level`` is not split: raw at the top, else the deeper-level rules."""
    if top or found is None:
        return data
    key, value = found
    if _is_empty(value):
        return _without(data, key)
    kept = _kept_as_list(value)
    return data if kept is None else {**_without(data, key), level.plural: kept}


def _walk(levels: Sequence[_Level], index: int, data: dict, skeleton: dict, scope: _Scope,
          path: str) -> Iterator[dict[str, Any]]:
    """The payloads of ``data`` at ``levels[index]``, below the task keys ``skeleton``."""
    if index >= len(levels):
        yield {**skeleton, **data}
        return
    level, found = levels[index], _find(data, levels[index], path)
    if not _needs_chunking(levels, index, data, scope, path):
        yield {**skeleton, **_as_is(level, data, found, index == 0)}
        return
    if found is None or _is_empty(found[1]):
        yield {**skeleton, **(data if found is None else _without(data, found[0]))}
        return
    key, value = found
    key_path, rest = _join(path, key), {**skeleton, **_without(data, key)}
    names = _split_names(value, key_path)
    if names is not None:
        size = _batch(scope, level)
        for start in range(0, len(names), size):
            yield {**rest, level.plural: names[start:start + size]}
        return
    for name, raw in value.items():
        task, subdata = {**rest, level.plural: [name]}, _subdata(name, raw, key_path)
        if subdata is None:
            yield task
        elif index + 1 == len(levels):
            yield {**task, **subdata}
        else:
            sub_path = _join(key_path, name)
            yield from _walk(levels, index + 1, subdata, task, _enter(levels, subdata, scope, sub_path), sub_path)


def _count(levels: Sequence[_Level], index: int, data: dict, scope: _Scope, path: str) -> int:
    """How many payloads :func:`_walk` yields for ``data``: the same checks, no payloads built."""
    if index >= len(levels) or not _needs_chunking(levels, index, data, scope, path):
        return 1
    found = _find(data, levels[index], path)
    if found is None or _is_empty(found[1]):
        return 1
    key_path = _join(path, found[0])
    names = _split_names(found[1], key_path)
    if names is not None:
        return -(-len(names) // _batch(scope, levels[index]))
    total = 0
    for name, raw in found[1].items():
        subdata = _subdata(name, raw, key_path)
        if subdata is None or index + 1 == len(levels):
            total += 1
        else:
            sub_path = _join(key_path, name)
            total += _count(levels, index + 1, subdata, _enter(levels, subdata, scope, sub_path), sub_path)
    return total


def _body(job: Job) -> dict[str, Any]:
    if not isinstance(job, Job) or not isinstance(job.body, dict):
        raise InvalidJob("job", "must be a parsed Job whose body is an object")
    return job.body


def _date_groups(body: dict, today: date | None, periods: PeriodRegistry) -> list[list[str] | None]:
    """The ``date_list`` of each group of tasks ([None]: no period). Without ``today``, the
    period is only checked against the patterns, and counted as one group."""
    period = body.get("period")
    if _is_empty(period):
        return [None]
    if today is None:
        periods.check(period)
        return [None]
    dates = periods.expand(period, today)
    return [[day] for day in dates] if body.get("isolate_days") else [dates]


def _checked_count(job: Job, chunkable_attrs: Sequence[str], today: date | None,
                   periods: PeriodRegistry) -> int:
    levels, body = _levels(chunkable_attrs), _body(job)
    groups = _date_groups(body, today, periods)
    rest = {k: v for k, v in body.items() if k not in DATE_KEYS}
    return len(groups) * _count(levels, 0, rest, _enter(levels, rest, _Scope(), ""), "")


def validate(job: Job, chunkable_attrs: Sequence[str], today: date | None = None,
             periods: PeriodRegistry = DEFAULT_PERIODS) -> None:
    """Check the whole job without building payloads; InvalidJob names the path and the rule.

    Without ``today`` the period is checked against the patterns but not expanded.
    """
    _checked_count(job, chunkable_attrs, today, periods)


def count_tasks(job: Job, chunkable_attrs: Sequence[str], today: date,
                periods: PeriodRegistry = DEFAULT_PERIODS) -> int:
    """The number of tasks of the job (validating it), computed without building payloads."""
    return _checked_count(job, chunkable_attrs, today, periods)


def _payloads(job: Job, levels: tuple[_Level, ...], today: date,
              periods: PeriodRegistry) -> Iterator[dict[str, Any]]:
    body = _body(job)
    rest = {k: v for k, v in body.items() if k not in DATE_KEYS}
    scope = _enter(levels, rest, _Scope(), "")
    for dates in _date_groups(body, today, periods):
        dated = rest if dates is None else {**rest, "date_list": dates}
        yield from _walk(levels, 0, dated, {}, scope, "")


def iter_task_payloads(job: Job, chunkable_attrs: Sequence[str], today: date,
                       periods: PeriodRegistry = DEFAULT_PERIODS) -> Iterator[dict[str, Any]]:
    """The job's task payloads as a lazy generator (one payload in memory at a time).

    The whole job is validated here, before the generator is returned, so an invalid job
    raises InvalidJob at the call and a consumer never half-writes its tasks.
    """
    levels = _levels(chunkable_attrs)
    validate(job, chunkable_attrs, today, periods)
    return _payloads(job, levels, today, periods)


def plan(event: Any, variants: Variants, today: date,
         periods: PeriodRegistry = DEFAULT_PERIODS) -> Iterator[dict[str, Any]]:
    """Parse an event, pick its variant and return its payloads (validated, lazy)."""
    job = parse_job(event)
    return iter_task_payloads(job, chunkable_attrs_for(job, variants), today, periods)

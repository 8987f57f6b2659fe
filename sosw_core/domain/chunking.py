"""Chunking a job into task payloads as sosw 0.7.51 did, lazily.

The levels are the variant's ``chunkable_attrs``: singular names (``section, store, product``);
a job writes each level as ``sections`` or ``section``. The rules below are sosw 0.7.51's,
observed by running it (``tests/differential``); where we depart from it, the reason is given
and ``docs/migrating-from-sosw.md`` lists what a user sees.

- **Needs chunking.** A level of a dict needs chunking when a flag of the level
  (``isolate_<name>``, ``max_<name>_per_batch`` with the singular or plural name, any truthy
  value) is set in the dict or comes from above (flags from above win over the dict's own), or
  when some subdata of the level needs its next level chunked. Looking for that, every value
  of a level that has a level below must be an object (sosw 0.7 crashed on anything else: such
  jobs are refused).
- **The first level.** When it needs no chunking the whole job is one task, raw: ``period``
  is not expanded (the ``clean`` payload style expands it and treats the first level like the
  others).
- **Chunked.** ``period`` becomes ``date_list`` first (one task per date with a truthy
  ``isolate_days``; both keys removed). Then at a chunked level, a dict of nulls or a flat list
  (or one value) gives one task per value, or per batch of ``max_<plural>_per_batch`` (the
  dict's own, else the one from above); an object of subdata gives one task per name, going
  down into the subdata. The chosen values sit as a list under the plural key. A falsy value
  (``0``, ``""``, ``[]``, ``{}``, null) gives no task, as in sosw 0.7.
- **Not chunked** (below the first level): a flat list, a dict of nulls or a dict with one key
  becomes a list under the plural key; anything else stays raw under its key, moved last. The
  dict's other keys stay beside it (sosw 0.7 dropped them when the value became a list: fixed).
- **Keys travel.** A task holds the keys of the job and of every subdata above it, lower ones
  winning, flags included.
- **Singular keys.** sosw 0.7 made the tasks of a level written with its singular key twice
  (once more with the raw singular key beside): we make them once. A level written with both
  keys is refused (sosw 0.7's result depended on the process's hash seed).
- **Batch sizes** are read with Python's ``int()`` as sosw 0.7 did (``"2"``, ``2.9`` and
  ``true`` are sizes); one that is not a number is refused; zero or less is refused when it is
  used (sosw 0.7 crashed on zero and silently made no task for a negative size).
  ``1000000`` was sosw 0.7's "not set": a chunked level with that size is split one by one.

Then :mod:`.task_payload` turns each task into the payload a worker receives. Payloads share
nested values with the job; treat them as read-only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sosw_core.domain.job import Job, PayloadStyle, Variants, chunkable_attrs_for, parse_job
from sosw_core.domain.periods import DEFAULT_PERIODS, PeriodRegistry
from sosw_core.domain.task_payload import finish
from sosw_core.errors import ConfigError, InvalidJob

DATE_KEYS = ("period", "isolate_days")
UNSET_BATCH = 1_000_000  # sosw 0.7's default batch size: the same number in a job meant "not set"
_FLAG = re.compile(r"isolate_\w*|max_\w*_per_batch")  # matched at the start of a key, as sosw 0.7 did
_SCALAR = (str, int, float)  # bool is an int: a value, as in sosw 0.7


def plural(attr: str) -> str:
    """The plural key of a level: the singular name plus ``s``."""
    return f"{attr}s"


@dataclass(frozen=True)
class _Rules:
    levels: tuple[str, ...]
    style: PayloadStyle

    def after(self, name: str) -> str | None:
        """The level below the one written ``name`` (singular, plural or with more s's)."""
        stem = name.rstrip("s")
        if stem not in self.levels:
            return None
        index = self.levels.index(stem) + 1
        return self.levels[index] if index < len(self.levels) else None


def _levels(chunkable_attrs: Sequence[str]) -> tuple[str, ...]:
    if isinstance(chunkable_attrs, str):
        raise ConfigError("chunkable_attrs", "must be a list of level names, not one string")
    levels = tuple(chunkable_attrs)
    for name in levels:
        if not isinstance(name, str) or not name or name.endswith("s"):
            raise ConfigError("chunkable_attrs", f"{name!r} must be a singular name not ending in 's' "
                                                 "(a job may write it with an 's' added)")
    if len(set(levels)) != len(levels):
        raise ConfigError("chunkable_attrs", f"names a level twice: {list(chunkable_attrs)}")
    return levels


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _forms(name: str) -> list[str]:
    """The keys a level written ``name`` is looked up under, as sosw 0.7 did."""
    forms = [name, name.rstrip("s"), f"{name}s"]
    return [form for position, form in enumerate(forms) if form not in forms[:position]]


def _needs_chunking(rules: _Rules, name: str, data: dict, path: str) -> bool:
    """Does the level written ``name`` of ``data`` (a dict with the flags from above merged
    over it) need chunking?"""
    forms = _forms(name)
    if any(data.get(f"isolate_{form}") or data.get(f"max_{form}_per_batch") for form in forms):
        return True
    below = rules.after(name)
    if below is None:
        return False
    flags = {key: value for key, value in data.items() if _FLAG.match(key)}
    for form in forms:
        value = data.get(form) or data.get(form.rstrip("s"))
        if not value:
            continue
        key_path = _join(path, form if form in data else form.rstrip("s"))
        for item in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(item, dict):
                raise InvalidJob(key_path, f"must be an object {{name: subdata}}: the level has {below!r} "
                                           f"below it (sosw 0.7 crashed on {type(item).__name__} here)")
            for sub_name, subdata in item.items():
                if isinstance(subdata, dict) and _needs_chunking(rules, below, {**subdata, **flags},
                                                                 _join(key_path, sub_name)):
                    return True
    return False


def _level_key(data: dict, level: str, path: str) -> str | None:
    """The key the job used for ``level`` in ``data``."""
    present = [key for key in (plural(level), level) if key in data]
    if len(present) > 1:
        raise InvalidJob(_join(path, plural(level)), f"give either {level!r} or {plural(level)!r}, not both")
    return present[0] if present else None


def _batch_size(job: dict, skeleton: dict, level: str, path: str) -> tuple[int | None, str]:
    """``max_<plural>_per_batch`` of the dict, else from above, read with ``int()``; None: unset."""
    key = f"max_{plural(level)}_per_batch"
    if key in job:
        where, value = _join(path, key), job[key]
    elif key in skeleton:
        where, value = key, skeleton[key]
    else:
        return None, key
    try:
        return int(value), where
    except (TypeError, ValueError, OverflowError):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise InvalidJob(where, f"must be an integer (got {shown})") from None


def _batches(task: dict, level: str, values: list, size: int, where: str) -> Iterator[dict]:
    if size < 1:
        raise InvalidJob(where, f"must be a positive integer (got {size})")
    for start in range(0, len(values), size):
        yield {**task, plural(level): values[start:start + size]}


def _flat(value: Any) -> list | None:
    """A level's value as a list of values when it is one (sosw 0.7's rule), else None."""
    if isinstance(value, list | tuple):
        return list(value) if all(isinstance(item, _SCALAR) for item in value) else None
    if isinstance(value, dict):
        if all(sub is None for sub in value.values()):
            return list(value)
        return [value] if len(value) == 1 else None
    return None


def _chunk(rules: _Rules, index: int, job: dict, skeleton: dict, path: str) -> Iterator[dict]:
    """The tasks of ``job`` (a dict at ``levels[index]``) below the task keys ``skeleton``."""
    level = rules.levels[index]
    size, size_path = _batch_size(job, skeleton, level, path)
    key = _level_key(job, level, path)
    if not _needs_chunking(rules, plural(level), {**job, **skeleton}, path):
        yield from _kept(level, job, skeleton, key, size, size_path)
        return
    if key is None or not job[key]:
        return  # a falsy value: no task, as in sosw 0.7
    value, key_path = job[key], _join(path, key)
    task = {**skeleton, **{name: sub for name, sub in job.items() if name != key}}
    size = 1 if size is None or size == UNSET_BATCH else size
    items = value if isinstance(value, list | tuple) else [value]
    if not all(isinstance(item, dict) for item in items):
        values = _flat(items)
        if values is None:
            raise InvalidJob(key_path, "cannot be split: use an object {name: subdata}, or strings and numbers")
        yield from _batches(task, level, values, size, size_path)
        return
    for item in items:
        if all(sub is None for sub in item.values()):
            yield from _batches(task, level, list(item), size, size_path)
            continue
        for name, subdata in item.items():
            named, sub_path = {**task, plural(level): [name]}, _join(key_path, name)
            if subdata is None:
                yield named
            elif not isinstance(subdata, dict):
                raise InvalidJob(sub_path, f"must be an object or null to be split, not {type(subdata).__name__}")
            elif index + 1 == len(rules.levels):
                yield {**named, **subdata}
            else:
                yield from _chunk(rules, index + 1, subdata, named, sub_path)


def _kept(level: str, job: dict, skeleton: dict, key: str | None, size: int | None,
          size_path: str) -> Iterator[dict]:
    """A level that is not chunked: one task (or one per batch, when a size applies)."""
    rest = dict(job)
    if key is not None:
        value = rest.pop(key)
        if value:
            values = _flat(value)
            if values is not None:
                yield from _batches({**skeleton, **rest}, level, values, UNSET_BATCH if size is None else size,
                                    size_path)
                return
            rest[key] = value  # kept raw, moved last as in sosw 0.7
    yield {**skeleton, **rest}


def _dated(body: dict, today: date | None, periods: PeriodRegistry, style: PayloadStyle) -> Iterator[dict]:
    """``period`` → ``date_list``; without ``today`` the period is only checked."""
    rest = {key: value for key, value in body.items() if key not in DATE_KEYS}
    period, isolate = body.get("period"), body.get("isolate_days")
    if not period:
        yield rest
        return
    sosw07 = style is PayloadStyle.SOSW07
    if today is None:
        periods.check(period, prefix=sosw07)
        yield rest
        return
    dates = periods.expand(period, today, prefix=sosw07, allow_empty=sosw07 and not isolate)
    if isolate:
        for day in dates:
            yield {**rest, "date_list": [day]}
    else:
        yield {**rest, "date_list": dates}


def _tasks(job: Job, rules: _Rules, today: date | None, periods: PeriodRegistry) -> Iterator[dict[str, Any]]:
    """The payloads of the job."""
    body = job.body
    if not isinstance(body, dict):
        raise InvalidJob("job", "must be a parsed Job whose body is an object")
    style = rules.style
    if style is PayloadStyle.CLEAN:
        body = {key: value for key, value in body.items() if key != "job_schema_name"}
    elif not rules.levels or not _needs_chunking(rules, plural(rules.levels[0]), body, ""):
        yield finish(body, job.labourer_id, raw=True, style=style)
        return
    for dated in _dated(body, today, periods, style):
        rows = _chunk(rules, 0, dated, {}, "") if rules.levels else iter([dated])
        for row in rows:
            yield finish(row, job.labourer_id, raw=False, style=style)


def _rules(job: Job, chunkable_attrs: Sequence[str], style: PayloadStyle | str | None) -> _Rules:
    chosen = job.payload_style or (PayloadStyle(style) if style is not None else PayloadStyle.SOSW07)
    return _Rules(_levels(chunkable_attrs), chosen)


def validate(job: Job, chunkable_attrs: Sequence[str], today: date | None = None,
             periods: PeriodRegistry = DEFAULT_PERIODS, *, style: PayloadStyle | str | None = None) -> int:
    """Check the whole job by planning every payload; returns how many there are. InvalidJob
    names the path and the rule. Without ``today`` the period is checked but not expanded.

    ``style`` applies unless the job chose its own (``sosw_core.payload_style``).
    """
    if not isinstance(job, Job):
        raise InvalidJob("job", "must be a parsed Job whose body is an object")
    return sum(1 for _ in _tasks(job, _rules(job, chunkable_attrs, style), today, periods))


def iter_task_payloads(job: Job, chunkable_attrs: Sequence[str], today: date,
                       periods: PeriodRegistry = DEFAULT_PERIODS, *,
                       style: PayloadStyle | str | None = None) -> Iterator[dict[str, Any]]:
    """The job's task payloads as a lazy generator (one payload in memory at a time), in the
    order sosw 0.7.51 made them.

    The whole job is validated here, before the generator is returned, so an invalid job
    raises InvalidJob at the call and a consumer never half-writes its tasks.
    """
    validate(job, chunkable_attrs, today, periods, style=style)
    return _tasks(job, _rules(job, chunkable_attrs, style), today, periods)


def plan(event: Any, variants: Variants, today: date, periods: PeriodRegistry = DEFAULT_PERIODS, *,
         style: PayloadStyle | str | None = None) -> Iterator[dict[str, Any]]:
    """Parse an event, pick its variant and return its payloads (validated, lazy)."""
    job = parse_job(event)
    return iter_task_payloads(job, chunkable_attrs_for(job, variants), today, periods, style=style)

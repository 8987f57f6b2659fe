"""Hypothesis strategies for Scheduler jobs: mostly well-formed sosw 0.7 jobs, with bad parts.

A generated case is ``(event, job)``: the event as the Scheduler receives it (a dict, a
``{"job": ...}`` wrapper, a JSON string or bytes, or junk) and the job object inside it (None
when there is none), so a test can check that an error's path names a real place in the job.
Names never hold ``.``, ``[`` or ``]``, so a path reads back without ambiguity.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

LEVELS = ("section", "store", "product")
VARIANTS = (("default", LEVELS), ("flat", ("item",)), ("none", ()))
LABOURERS = ("w", "v")  # configured in the fuzz config; anything else is unknown

names = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=6)
keys = names | st.sampled_from(["period", "isolate_days", "date_list", "sections", "store", "job"])
huge_strings = st.integers(70_000, 300_000).map(lambda n: "x" * n)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 10**6), st.integers(), names, st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
)
odd_scalars = st.one_of(st.floats(), huge_strings)  # NaN, inf, strings past the payload limit
junk = st.recursive(scalars | odd_scalars, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(keys, inner, max_size=4), max_leaves=10)

truthy = st.sampled_from([True, True, 1, "True", "yes", [1], {"a": 1}])
falsy = st.sampled_from([False, 0, "", None, [], {}])
good_batch = st.integers(1, 4) | st.sampled_from(["1", "2", "003"])
bad_batch = st.sampled_from([0, -1, "0", "x", "", 1.5, True, False, None, [], {"n": 2}, "1" * 5000, "-2"])

good_periods = st.sampled_from(["today", "yesterday", "last_3_days", "2_days_back", "0_days_back",
                                "previous_2_days", "last_week", "last_1_days"])
bad_periods = st.sampled_from(["todayX", "Today", "last_0_days", "last_-1_days", "previous_0_days",
                               "last_2_days_x", "last_week ", "99999999_days_back", "9" * 5000 + "_days_back",
                               5, ["today"], {"p": "today"}, True]) | st.text(max_size=8)


def often(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 9) -> st.SearchStrategy[Any]:
    """``common`` about ``odds`` times as often as ``rare`` (and shrinking towards ``common``)."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda pick: common if pick else rare)


def chance(odds: int) -> st.SearchStrategy[bool]:
    """True about once in ``odds`` draws."""
    return st.sampled_from([False] * (odds - 1) + [True])


def _flags(levels: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for level in levels:
        optional[f"isolate_{level}s"] = truthy | falsy
        optional[f"max_{level}s_per_batch"] = often(good_batch, bad_batch, 12)
    rare: dict[str, st.SearchStrategy[Any]] = {}
    for level in levels:
        rare[f"isolate_{level}"] = truthy | falsy
        rare[f"max_{level}_per_batch"] = good_batch | bad_batch
    return often(st.fixed_dictionaries({}, optional=optional), st.fixed_dictionaries({}, optional=rare), 5)


def _custom() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(names.map(lambda n: f"c_{n}"), scalars | junk, max_size=2)


def level_value(levels: tuple[str, ...], index: int) -> st.SearchStrategy[Any]:
    """A value of ``levels[index]``: ``{name: subdata-or-null}``, a flat list, a scalar, or junk."""
    flat = st.lists(names | st.integers(-5, 999), max_size=5)
    if index + 1 < len(levels):
        subdata = st.none() | st.deferred(lambda: subdata_of(levels, index + 1))
    else:
        subdata = st.none() | _custom() | _flags(levels)
    mapping = st.dictionaries(names, often(subdata, junk, 12), max_size=4)
    plain = st.one_of(mapping, mapping, mapping, flat, flat, names, st.integers(0, 99))
    return often(plain, st.sampled_from([None, {}, [], ""]) | junk, 8)


def subdata_of(levels: tuple[str, ...], index: int) -> st.SearchStrategy[dict[str, Any]]:
    """A dict at ``levels[index]``: the level under its plural (or singular) key, flags, custom keys."""
    level = levels[index]
    value = level_value(levels, index)
    plural = st.fixed_dictionaries({f"{level}s": value})
    singular = st.fixed_dictionaries({level: value})
    both = st.fixed_dictionaries({f"{level}s": value, level: value})
    body = often(st.one_of(plural, plural, plural, singular), both | st.just({}), 12)
    parts = st.tuples(body, _flags(levels), _custom())
    return parts.map(lambda p: {**p[2], **p[1], **p[0]})


lambda_names = often(st.one_of(
    st.sampled_from(LABOURERS), st.sampled_from(LABOURERS), st.sampled_from(LABOURERS),
    st.sampled_from(LABOURERS).map(lambda n: f"arn:aws:lambda:us-east-1:123456789012:function:{n}"),
    st.sampled_from(LABOURERS).map(lambda n: f"arn:aws:lambda:eu-west-1:123456789012:function:{n}:prod"),
), st.sampled_from(["", "other", "bad name!", "arn:aws:s3:::bucket", "arn:aws:lambda:x", "x" * 141,
                    None, 5, ["w"], {"name": "w"}]), 12)


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    """A job object: envelope keys, the body of its variant's levels, flags, dates, custom keys."""
    schema = draw(often(st.sampled_from([None, None, None, "default", "flat", "none"]),
                        st.sampled_from(["unknown", "", 7]), 15))
    levels = dict(VARIANTS).get(schema if isinstance(schema, str) and schema else "default", LEVELS)
    job: dict[str, Any] = draw(subdata_of(levels, 0)) if levels else draw(_custom())
    if not draw(chance(25)):
        job["lambda_name"] = draw(lambda_names)
    if schema is not None or draw(chance(10)):
        job["job_schema_name"] = schema
    if draw(chance(6)):
        job["job_id"] = draw(often(st.sampled_from(["job-1", "nightly.2019-01-31"]),
                                   st.sampled_from(["", 5, "has space", "x" * 200]), 3))
    if draw(chance(3)):
        job["period"] = draw(often(good_periods, bad_periods, 5))
        if draw(st.booleans()):
            job["isolate_days"] = draw(truthy | falsy)
    if draw(chance(10)):  # a value that breaks the payload limit, or plain JSON
        job["c_odd"] = draw(odd_scalars | junk)
    return job


def _wrapped(job: dict[str, Any]) -> st.SearchStrategy[Any]:
    text = json.dumps(job)  # NaN and Infinity are written as JSON extensions, as Python reads them
    return often(st.sampled_from([job, job, job, {"job": job}, {"job": text}, text, text.encode(),
                                  {"job": job, "ignored": [1, 2]}]), st.just({"job": {"job": job}}), 20)


@st.composite
def job_events(draw: st.DrawFn) -> tuple[Any, dict[str, Any] | None]:
    """``(event, job)``: most events carry a job; some are junk (then ``job`` is None)."""
    if draw(chance(30)):
        return draw(junk | st.sampled_from(["[}", "[1, 2]", b"\xff", "null", {"job": None}, {"job": "{"}])), None
    job = draw(jobs())
    return draw(_wrapped(job)), job

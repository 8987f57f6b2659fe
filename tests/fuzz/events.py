"""Hypothesis strategies for forged, broken and junk WorkerAssistant and Worker events.

Every case starts from the genuine event of one real task and applies at least one *decisive*
break: a change that alone must make the report refused or ignored (another task's token, a
labourer the task does not belong to, an unknown task id, a field of the wrong type, a result
DynamoDB cannot store, ...). Optional noise (another attempt number, long texts) rides along.
So no generated event can legitimately change a row, and a test may demand that none does.
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

from sosw_core.domain.events import ENVELOPE, Action
from sosw_core.domain.task import MAX_REPORT_BYTES, Task

tokens = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)
odd_text = st.text(min_size=1, max_size=20)  # any unicode, lone surrogates included
wrong_types = st.sampled_from([None, 0, -1, 1.5, True, [], {}, ["x"], {"a": 1}])


def deep(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = {"d": value}
    return value


unstorable = st.sampled_from([
    {"big": "x" * (MAX_REPORT_BYTES + 1)},  # over the report size limit
    {"": 1},  # DynamoDB map keys are non-empty
    deep(40),  # DynamoDB nests at most 32 levels
    {"n": 10**40 + 1},  # 41 significant digits
    {"tiny": 1e-300}, {"huge": 1e300},  # outside DynamoDB's number range
    {"nan": float("nan")}, {"inf": float("-inf")},
    {"set": {1, 2}}, {"bytes": b"x"},  # not JSON
])
storable = st.dictionaries(st.text(min_size=1, max_size=8),
                           st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20),
                           max_size=4)


def genuine_report(task: Task, action: Action) -> dict[str, Any]:
    event: dict[str, Any] = {"action": action.value, "task_id": task.task_id, "labourer_id": task.labourer_id,
                             "attempt": max(task.attempts, 1), "token": task.token}
    if action is Action.COMPLETED:
        event["result"] = {"ok": True}
    elif action is Action.FAILED:
        event.update(error_type="ValueError", error_message="boom", traceback="Traceback ...")
    return event


@st.composite
def decisive_report_break(draw: st.DrawFn, event: dict[str, Any], task: Task, others: list[Task],
                          labourers: tuple[str, ...]) -> str:
    """Break ``event`` in place so that it cannot apply; the name of the break."""
    other = draw(st.sampled_from(others))
    kind = draw(st.sampled_from(["token", "task_id", "labourer_id", "attempt", "action", "extra", "payload"]))
    if kind == "token":
        event["token"] = draw(st.sampled_from([other.token, task.token[:-1], task.token + "x", ""])
                              | tokens.filter(lambda t: t != task.token) | odd_text.filter(lambda t: t != task.token)
                              | wrong_types | st.just("t" * 300))
    elif kind == "task_id":
        event["task_id"] = draw(st.sampled_from([other.task_id, "", "x" * 257]) | wrong_types
                                | st.text(min_size=1, max_size=30).map(lambda t: f"unknown-{t}"))
    elif kind == "labourer_id":
        event["labourer_id"] = draw(st.sampled_from([lab for lab in labourers if lab != task.labourer_id]
                                                    + ["nobody", ""]) | wrong_types | odd_text
                                    .filter(lambda t: t not in labourers))
    elif kind == "attempt":
        event["attempt"] = draw(st.sampled_from([0, -1, "1", True, False, 1.5, None, [1]]))
    elif kind == "action":
        event["action"] = draw(st.sampled_from(["complete", "MARK_TASK_AS_COMPLETED", "mark_task_as_dead", ""])
                               | wrong_types)
    elif kind == "extra":
        event[draw(st.sampled_from(["sneaky", "state", "attempts", "deadline_at", "payload"]))] = draw(
            st.integers() | st.text(max_size=5))
        if event.get("action") == Action.HEARTBEAT.value and draw(st.booleans()):
            event.pop(next(k for k in event if k not in ("action", "task_id", "labourer_id", "attempt",
                                                         "token")), None)
            event["result"] = {"x": 1}  # heartbeats carry no result
    else:
        action = event.get("action")
        if action == Action.FAILED.value and draw(st.booleans()):
            event[draw(st.sampled_from(["error_type", "error_message", "traceback"]))] = draw(
                st.sampled_from([5, ["E"], {"e": 1}, True]))
        elif action in (Action.COMPLETED.value, Action.FAILED.value):
            event[draw(st.sampled_from(["result", "stats"]))] = draw(unstorable)
        else:
            event["token"] = other.token
            kind = "token"
    return kind


@st.composite
def noise(draw: st.DrawFn, event: dict[str, Any], broken: str) -> None:
    """Changes that are harmless alone (another attempt number, long texts, stats), made only
    where they cannot undo the decisive break ``broken``."""
    if broken != "attempt" and draw(st.booleans()):
        event["attempt"] = draw(st.integers(1, 10**6))
    if broken != "payload" and event.get("action") == Action.FAILED.value and draw(st.booleans()):
        event["error_message"] = draw(st.text(max_size=50) | st.just("m" * 20_000))
    if broken != "payload" and event.get("action") == Action.COMPLETED.value and draw(st.booleans()):
        event["stats"] = draw(storable)


junk_events = st.one_of(
    st.none(), st.integers(), st.floats(), st.text(max_size=30), st.lists(st.integers(), max_size=3),
    st.sampled_from(["[}", "null", "[]", '{"action": "heartbeat"}', "{" * 5000, "[" * 100_000 + "]" * 100_000]),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=5),
)


def as_wire(event: Any, text: bool) -> Any:
    """The event as a dict, or as the JSON text a Lambda may be handed (when it serialises)."""
    if not text:
        return event
    try:
        return json.dumps(event)
    except (TypeError, ValueError):
        return event


# -- Worker events -------------------------------------------------------------------------------
@st.composite
def broken_worker_event(draw: st.DrawFn, event: dict[str, Any], task: Task, others: list[Task],
                        labourers: tuple[str, ...]) -> str:
    """Break a genuine worker event's envelope (or the event) in place; the name of the break."""
    envelope = event[ENVELOPE]
    other = draw(st.sampled_from(others))
    kind = draw(st.sampled_from(["token", "task_id", "labourer_id", "attempt", "envelope", "missing",
                                 "types"]))
    if kind == "token":
        envelope["token"] = draw(st.sampled_from([other.token, task.token + "x", ""]) | wrong_types
                                 | tokens.filter(lambda t: t != task.token) | odd_text.filter(lambda t: t != task.token))
    elif kind == "task_id":
        event["task_id"] = draw(st.sampled_from([other.task_id, "", "x" * 300]) | wrong_types
                                | st.text(min_size=1, max_size=20).map(lambda t: f"unknown-{t}"))
    elif kind == "labourer_id":
        envelope["labourer_id"] = draw(st.sampled_from([lab for lab in labourers if lab != task.labourer_id]
                                                       + ["nobody"]) | wrong_types)
    elif kind == "attempt":
        envelope["attempt"] = draw(st.sampled_from([0, -3, "2", True, 2.0, None]))
    elif kind == "envelope":
        event[ENVELOPE] = draw(wrong_types.filter(lambda v: v is not None and not isinstance(v, dict))
                               | st.text(max_size=10) | st.just({"labourer_id": task.labourer_id}))
    elif kind == "missing":
        field = draw(st.sampled_from(["token", "labourer_id", "attempt", "task_id"]))
        (event if field == "task_id" else envelope).pop(field)
    else:
        field = draw(st.sampled_from(["deadline_at", "job_id"]))
        envelope[field] = draw(st.sampled_from([[1], {"a": 1}, True] + (
            ["soon", float("nan"), float("inf")] if field == "deadline_at" else [5, 1.5])))
    return kind

"""The events that cross Lambda boundaries, parsed and validated at the edge.

Worker event (what the orchestrator sends a worker Lambda): the task's payload as the job
produced it, the fields sosw 0.7 put beside it (so a sosw 0.7 worker reads what it read there),
and a ``sosw_core`` envelope::

    {...payload...,
     "task_id": "t-1", "labourer_id": "w",     # sosw 0.7's fields, in its shapes:
     "created_at": 1700000000.25,              #   epoch seconds (a number)
     "greenfield": 1700000000,                 #   a whole number ordering the queue (see below)
     "attempts": 1,                            #   attempts made BEFORE this one (0 on the first run)
     "sosw_core": {"labourer_id": "w", "attempt": 2, "token": "…", "job_id": "j-1",
                   "deadline_at": 1700000060.0,   # the lease end (epoch s): heartbeat before it
                   "shadowed": {...}?}}           # payload keys the fields above replaced

As in sosw 0.7, those fields replace payload keys of the same names; the envelope keeps the
replaced values (``shadowed``), so :func:`split_worker_event` gives a sosw-core worker exactly
the task's payload. sosw 0.7's ``greenfield`` was its queue position (steps of 1000, or a retry
time); sosw-core has no such column and sends the whole seconds of ``created_at``: a number,
ordered like the queue for first attempts, not sosw 0.7's value.

Report event (what a worker sends the WorkerAssistant), sosw 0.7 names plus the proof::

    {"action": "mark_task_as_completed" | "mark_task_as_failed" | "heartbeat",
     "task_id": "t-1", "labourer_id": "w", "attempt": 2, "token": "…",
     "stats": {...}?, "result": {...}?,                     # completed (maps, any key names)
     "error_type": "ValueError"?, "error_message": "…"?, "traceback": "…"?}   # failed

A sosw 0.7 report (what ``sosw.worker.Worker`` sends, asynchronously) has no proof at all::

    {"action": "mark_task_as_completed" | "mark_task_as_failed", "task_id": "t-1",
     "stats": {...}?, "result": {...}?}         # maps, or JSON text of maps (sosw 0.7 took both)

:func:`read_report` tells them apart: an event with none of ``labourer_id``, ``attempt``,
``token`` is a sosw 0.7 report (:class:`Sosw07Report`); any other is parsed as sosw-core's,
whose missing field is named. Whether a sosw 0.7 report is accepted is the labourer's
``accept_sosw07_reports`` (:mod:`sosw_core.services.assistant`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sosw_core.domain.task import MAX_REPORT_BYTES, Task
from sosw_core.errors import InvalidEvent

ENVELOPE = "sosw_core"
MAX_ERROR_TEXT = 4000
# DynamoDB refuses an item nested 32 levels deep; ``result`` and ``stats`` are one level of it.
MAX_REPORT_DEPTH = 31
# DynamoDB numbers: at most 38 significant digits, magnitude from 1E-130 to below 1E+126.
NUMBER_DIGITS = 38
NUMBER_EXPONENTS = (-130, 125)


class Action(StrEnum):
    COMPLETED = "mark_task_as_completed"
    FAILED = "mark_task_as_failed"
    HEARTBEAT = "heartbeat"


@dataclass(frozen=True)
class Invocation:
    """Who a worker is working for: parsed from its event's envelope."""

    task_id: str
    labourer_id: str
    attempt: int
    token: str
    job_id: str | None = None
    deadline_at: float | None = None


# What sosw 0.7 put beside the payload (its ``TaskManager.invoke_task``), in this order.
SOSW07_EVENT_FIELDS = ("task_id", "labourer_id", "created_at", "greenfield", "attempts")


def sosw07_fields(task: Task) -> dict[str, Any]:
    """The task's fields as a sosw 0.7 worker received them (see the module docstring)."""
    return {"task_id": task.task_id, "labourer_id": task.labourer_id, "created_at": task.created_at,
            "greenfield": int(task.created_at), "attempts": max(task.attempts - 1, 0)}


def worker_event(task: Task) -> dict[str, Any]:
    event = dict(task.payload)
    fields = sosw07_fields(task)
    shadowed = {key: event[key] for key in fields if key in event}
    event.update(fields)
    envelope: dict[str, Any] = {"labourer_id": task.labourer_id, "attempt": task.attempts,
                                "token": task.token, "job_id": task.job_id, "deadline_at": task.deadline_at}
    if shadowed:
        envelope["shadowed"] = shadowed
    event[ENVELOPE] = envelope
    return event


def split_worker_event(event: Any) -> tuple[dict[str, Any], Invocation | None]:
    """The payload and the invocation; ``None`` when the Lambda was invoked without a task.

    With an envelope, the payload is the task's own: sosw 0.7's fields are taken out and the
    payload keys they replaced are put back. Without one (a plain Lambda call), only
    ``task_id`` is taken out, as before.
    """
    if not isinstance(event, dict):
        raise InvalidEvent("event", f"must be a JSON object, not {type(event).__name__}")
    envelope = event.get(ENVELOPE)
    if envelope is None:
        return {k: v for k, v in event.items() if k not in (ENVELOPE, "task_id")}, None
    if not isinstance(envelope, dict):
        raise InvalidEvent(ENVELOPE, "must be an object")
    shadowed = envelope.get("shadowed", {})
    if not isinstance(shadowed, dict) or set(shadowed) - set(SOSW07_EVENT_FIELDS):
        raise InvalidEvent(f"{ENVELOPE}.shadowed", f"must be an object of {', '.join(SOSW07_EVENT_FIELDS)}")
    payload = {k: v for k, v in event.items() if k != ENVELOPE and k not in SOSW07_EVENT_FIELDS}
    payload.update(shadowed)
    job_id = envelope.get("job_id")
    if job_id is not None and not isinstance(job_id, str):
        raise InvalidEvent(f"{ENVELOPE}.job_id", "must be a string or null")
    deadline_at = envelope.get("deadline_at")
    if deadline_at is not None and (isinstance(deadline_at, bool) or not isinstance(deadline_at, int | float)
                                    or not math.isfinite(deadline_at)):
        raise InvalidEvent(f"{ENVELOPE}.deadline_at", "must be a number (epoch seconds) or null")
    inv = Invocation(
        task_id=_str(event, "task_id"),
        labourer_id=_str(envelope, "labourer_id"),
        attempt=_int(envelope, "attempt"),
        token=_token(envelope),
        job_id=job_id,
        deadline_at=None if deadline_at is None else float(deadline_at),
    )
    return payload, inv


@dataclass(frozen=True)
class Report:
    action: Action
    invocation: Invocation
    result: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""

    def to_event(self) -> dict[str, Any]:
        inv = self.invocation
        event: dict[str, Any] = {"action": self.action.value, "task_id": inv.task_id,
                                 "labourer_id": inv.labourer_id, "attempt": inv.attempt,
                                 "token": inv.token}
        if self.action is Action.COMPLETED:
            event.update({k: v for k, v in (("result", self.result), ("stats", self.stats)) if v is not None})
        elif self.action is Action.FAILED:
            event.update(error_type=self.error_type, error_message=self.error_message,
                         traceback=self.traceback)
        return event


_FIELDS = {
    Action.COMPLETED: {"result", "stats"},
    Action.FAILED: {"error_type", "error_message", "traceback", "result", "stats"},
    Action.HEARTBEAT: set(),
}
_COMMON = {"action", "task_id", "labourer_id", "attempt", "token"}
_PROOF = ("labourer_id", "attempt", "token")
SOSW07_ACTIONS = (Action.COMPLETED, Action.FAILED)  # sosw 0.7 workers never heartbeat
_SOSW07_FIELDS = {"action", "task_id", "result", "stats"}


@dataclass(frozen=True)
class Sosw07Report:
    """A report as ``sosw.worker.Worker`` (0.7) sends it: the task id, no proof of the attempt."""

    action: Action
    task_id: str
    result: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


def is_sosw07_report(event: Any) -> bool:
    """True for an object with none of sosw-core's proof fields (labourer, attempt, token)."""
    return isinstance(event, dict) and not any(key in event for key in _PROOF)


def read_report(event: Any) -> Report | Sosw07Report:
    """Validate any WorkerAssistant event: sosw-core's report, or a sosw 0.7 one."""
    event = _decoded(event)
    return parse_sosw07_report(event) if is_sosw07_report(event) else parse_report(event)


def parse_sosw07_report(event: Any) -> Sosw07Report:
    """Validate a sosw 0.7 report; InvalidEvent names the field and the rule.

    ``result``/``stats`` may be maps or JSON text of maps (sosw 0.7's WorkerAssistant decoded
    text); a value that is neither is kept as ``{"value": ...}``, as for sosw-core reports.
    """
    event = _decoded(event)
    action = _action(event)
    if action not in SOSW07_ACTIONS:
        raise InvalidEvent("action", f"a report without a token must be one of "
                                     f"{', '.join(a.value for a in SOSW07_ACTIONS)} (got {action.value!r})")
    unknown = set(event) - _SOSW07_FIELDS
    if unknown:
        raise InvalidEvent(sorted(unknown)[0], f"is not a field of a sosw 0.7 {action.value} report")
    maps = {key: _map({key: _json_text(event, key)}, key) for key in ("result", "stats")}
    return Sosw07Report(action, _str(event, "task_id"), result=maps["result"], stats=maps["stats"])


def parse_report(event: Any) -> Report:
    """Validate a sosw-core WorkerAssistant event; InvalidEvent names the field and the rule."""
    event = _decoded(event)
    action = _action(event)
    unknown = set(event) - _COMMON - _FIELDS[action]
    if unknown:
        raise InvalidEvent(sorted(unknown)[0], f"is not a field of {action.value}")
    inv = Invocation(task_id=_str(event, "task_id"), labourer_id=_str(event, "labourer_id"),
                     attempt=_int(event, "attempt"), token=_token(event))
    result = _map(event, "result")
    stats = _map(event, "stats")
    return Report(
        action=action, invocation=inv, result=result, stats=stats,
        error_type=_text(event, "error_type", 200) or ("Error" if action is Action.FAILED else ""),
        error_message=_text(event, "error_message", MAX_ERROR_TEXT),
        traceback=_text(event, "traceback", MAX_ERROR_TEXT),
    )


def _decoded(event: Any) -> dict[str, Any]:
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError as exc:
            raise InvalidEvent("event", f"is not valid JSON: {exc}") from exc
        except RecursionError:
            raise InvalidEvent("event", "nests too deeply to be read") from None
    if not isinstance(event, dict):
        raise InvalidEvent("event", f"must be a JSON object, not {type(event).__name__}")
    return event


def _action(event: dict[str, Any]) -> Action:
    raw_action = event.get("action")
    try:
        return Action(str(raw_action))
    except ValueError:
        raise InvalidEvent("action", f"must be one of {', '.join(a.value for a in Action)} "
                                     f"(got {raw_action!r})") from None


def _json_text(obj: dict, key: str) -> Any:
    """``obj[key]``, decoded when it is JSON text of an object (sosw 0.7 accepted both)."""
    value = obj.get(key)
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise InvalidEvent(key, f"is text but not a JSON object: {exc}") from exc
        except RecursionError:
            raise InvalidEvent(key, f"nests deeper than {MAX_REPORT_DEPTH} levels") from None
    return value


def _str(obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(key, "is required and must be a non-empty string")
    if len(value) > 256:
        raise InvalidEvent(key, "must be at most 256 characters")
    return value


def _token(obj: dict) -> str:
    """The proof: tokens are URL-safe ASCII (``secrets.token_urlsafe``); anything else is refused
    here, so it never reaches the constant-time comparison (which takes ASCII only)."""
    value = _str(obj, "token")
    if not value.isascii() or not value.isprintable():
        raise InvalidEvent("token", "must be printable ASCII")
    return value


def _int(obj: dict, key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidEvent(key, "is required and must be a positive integer")
    return value


def _text(obj: dict, key: str, limit: int) -> str:
    value = obj.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(key, "must be a string")
    return value[:limit]


def _map(obj: dict, key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        value = {"value": value}  # a worker may return a list or a scalar: stored as a map
    try:
        size = len(json.dumps(value, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(key, f"must be JSON-serialisable: {exc}") from exc
    except RecursionError:
        raise InvalidEvent(key, f"nests deeper than {MAX_REPORT_DEPTH} levels") from None
    if size > MAX_REPORT_BYTES:
        raise InvalidEvent(key, f"is {size} bytes; the limit is {MAX_REPORT_BYTES}")
    _check_storable(key, value)
    return value


def _check_storable(key: str, value: dict[str, Any]) -> None:
    """What JSON allows but a DynamoDB map refuses: deep nesting, empty keys, numbers out of range.

    Checked here so that such a report is refused before any write, naming where it broke."""
    pending: list[tuple[Any, str, int]] = [(value, key, 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_REPORT_DEPTH:
                raise InvalidEvent(path, f"nests deeper than {MAX_REPORT_DEPTH} levels (a DynamoDB limit)")
            if isinstance(item, dict):
                for name, sub in item.items():
                    if name == "":
                        raise InvalidEvent(path, "has an empty key (DynamoDB map keys are non-empty)")
                    pending.append((sub, f"{path}.{name}", depth + 1))
            else:
                pending.extend((sub, f"{path}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif isinstance(item, int | float) and not isinstance(item, bool) and item != 0:
            number = Decimal(str(item) if isinstance(item, int) else repr(item))  # exact, not rounded
            significant = "".join(map(str, number.as_tuple().digits)).strip("0")
            if (len(significant) > NUMBER_DIGITS
                    or not NUMBER_EXPONENTS[0] <= number.adjusted() <= NUMBER_EXPONENTS[1]):
                raise InvalidEvent(path, f"is a number DynamoDB cannot store ({NUMBER_DIGITS} significant "
                                         "digits, magnitude 1E-130 to 1E+125)")

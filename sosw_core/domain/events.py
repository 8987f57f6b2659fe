"""The events that cross Lambda boundaries, parsed and validated at the edge.

Worker event (what the orchestrator sends a worker Lambda): the task's payload as the job
produced it (sosw 0.7 workers read it unchanged), plus ``task_id`` and a ``sosw_core`` envelope::

    {...payload..., "task_id": "t-1",
     "sosw_core": {"labourer_id": "w", "attempt": 2, "token": "…", "job_id": "j-1",
                   "deadline_at": 1700000060.0}}   # the lease end (epoch s): heartbeat before it

Report event (what a worker sends the WorkerAssistant), sosw 0.7 names plus the proof::

    {"action": "mark_task_as_completed" | "mark_task_as_failed" | "heartbeat",
     "task_id": "t-1", "labourer_id": "w", "attempt": 2, "token": "…",
     "stats": {...}?, "result": {...}?,                     # completed (maps, any key names)
     "error_type": "ValueError"?, "error_message": "…"?, "traceback": "…"?}   # failed
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


def worker_event(task: Task) -> dict[str, Any]:
    event = dict(task.payload)
    event["task_id"] = task.task_id
    event[ENVELOPE] = {"labourer_id": task.labourer_id, "attempt": task.attempts,
                       "token": task.token, "job_id": task.job_id, "deadline_at": task.deadline_at}
    return event


def split_worker_event(event: Any) -> tuple[dict[str, Any], Invocation | None]:
    """The payload and the invocation; ``None`` when the Lambda was invoked without a task."""
    if not isinstance(event, dict):
        raise InvalidEvent("event", f"must be a JSON object, not {type(event).__name__}")
    payload = {k: v for k, v in event.items() if k not in (ENVELOPE, "task_id")}
    envelope = event.get(ENVELOPE)
    if envelope is None:
        return payload, None
    if not isinstance(envelope, dict):
        raise InvalidEvent(ENVELOPE, "must be an object")
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


def parse_report(event: Any) -> Report:
    """Validate a WorkerAssistant event; InvalidEvent names the field and the rule."""
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError as exc:
            raise InvalidEvent("event", f"is not valid JSON: {exc}") from exc
        except RecursionError:
            raise InvalidEvent("event", "nests too deeply to be read") from None
    if not isinstance(event, dict):
        raise InvalidEvent("event", f"must be a JSON object, not {type(event).__name__}")
    raw_action = event.get("action")
    try:
        action = Action(str(raw_action))
    except ValueError:
        raise InvalidEvent("action", f"must be one of {', '.join(a.value for a in Action)} "
                                     f"(got {raw_action!r})") from None
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

"""A chunked task → the payload its worker receives, as sosw 0.7.51 made it.

sosw 0.7 wrote each task through its task manager, which shaped the payload:

- The keys it generated itself (``task_id``, ``labourer_id``, ``created_at``, ``greenfield``,
  ``attempts``) never reached the payload. A falsy value of such a key in a job was dropped; a
  value that differed from the generated one crashed the Scheduler, so such a job is refused.
  (``labourer_id`` was overwritten, so dropped, whenever the job was chunked; ``attempts`` could
  be ``"0"``.)
- A key named ``payload`` was merged: its object (or a JSON string of one) became the payload,
  the task's other keys set over it; any other value stayed under ``payload``. A JSON string of
  something else than an object crashed the Scheduler or the Orchestrator: refused. The
  ``clean`` payload style keeps ``payload`` as plain data.
"""

from __future__ import annotations

import json
from typing import Any

from sosw_core.domain.job import PayloadStyle
from sosw_core.errors import InvalidJob

GENERATED_KEYS = ("task_id", "labourer_id", "created_at", "greenfield", "attempts")


def _accepted(key: str, value: Any, labourer_id: str, raw: bool) -> bool:
    """Did sosw 0.7 accept this value of a key it generates (and drop it)?"""
    if not value:
        return True
    if key == "labourer_id":
        return not raw or str(value) == labourer_id
    return key == "attempts" and str(value) == "0"


def _merged(payload: Any, rest: dict[str, Any]) -> dict[str, Any]:
    base: Any = payload
    if isinstance(payload, str):
        try:
            base = json.loads(payload)
        except ValueError:
            base = {"payload": payload}
    elif not isinstance(payload, dict):
        base = {"payload": payload}
    if not isinstance(base, dict):
        raise InvalidJob("payload", f"a JSON string of {type(base).__name__}: sosw 0.7 merged `payload` into the "
                                    "payload and crashed on anything but an object")
    return {**base, **rest}


def finish(task: dict[str, Any], labourer_id: str, *, raw: bool, style: PayloadStyle) -> dict[str, Any]:
    """The payload of ``task``; ``raw``: the job was not chunked (the task is the job)."""
    rest: dict[str, Any] = {}
    for key, value in task.items():
        if key not in GENERATED_KEYS:
            rest[key] = value
        elif not _accepted(key, value, labourer_id, raw):
            raise InvalidJob(key, f"is set by the Scheduler for each task (sosw 0.7 crashed on a job giving "
                                  f"{value!r}); rename the key")
    if style is PayloadStyle.SOSW07 and "payload" in rest:
        payload = rest.pop("payload")
        return _merged(payload, rest)
    return rest

"""Between pynamodb rows and the domain's frozen :class:`~sosw_core.domain.task.Task`."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import MapAttribute

from sosw_core.adapters.dynamodb.models import TaskModel
from sosw_core.domain.task import Task, TaskEvent, TaskState


def plain(value: Any) -> Any:
    """pynamodb raw maps/lists as plain dicts/lists (recursively)."""
    if isinstance(value, MapAttribute):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def to_task(row: TaskModel) -> Task:
    return Task(
        task_id=row.task_id,
        labourer_id=row.labourer_id,
        state=TaskState(row.state),
        payload=json.loads(row.payload),
        attempts=int(row.attempts or 0),
        token=row.token,
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        job_id=row.job_id,
        deadline_at=None if row.deadline_at is None else float(row.deadline_at),
        closed_at=None if row.closed_at is None else float(row.closed_at),
        error_type=row.error_type,
        error_message=row.error_message,
        result=plain(row.result) if row.result is not None else None,
        stats=plain(row.stats) if row.stats is not None else None,
        events=tuple(TaskEvent.from_item(plain(e)) for e in (row.events or [])),
    )

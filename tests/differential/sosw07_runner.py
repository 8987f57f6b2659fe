"""Runs jobs through the real sosw 0.7.51 Scheduler and TaskManager; started by ``sosw07.py``.

Run with ``.venv-sosw07/bin/python`` (it imports sosw, never sosw_core). Reads one case per
line on stdin, ``{"id", "event", "variants", "today", "labourer"}`` (``variants``: name → level
names, ``default`` included), and writes one line per case:
``{"id", "payloads": [...]}`` (each the JSON sosw stored as the task's payload, decoded), or
``{"id", "crash": "<exception type>: <message>"}``.

The path is sosw's own, end to end: ``Scheduler.extract_job_from_payload``,
``apply_job_schema``, ``parse_job_to_file`` (its queue file in a temporary directory), then
``TaskManager.create_task`` for every row. Only what needs AWS is replaced: the Scheduler and
the TaskManager are made with ``__new__`` (their constructors create boto3 clients), the
labourer lookup returns the case's labourer, the newest greenfield is 0, and DynamoDB ``put``
keeps the item in memory. ``datetime.date.today()`` inside sosw's scheduler is the case's day.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
import tempfile
import types

import sosw.scheduler as scheduler_module
from sosw.labourer import Labourer
from sosw.managers.task import TaskManager
from sosw.scheduler import Scheduler


class _Puts:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def put(self, item: dict) -> None:
        self.items.append(item)


def _fixed_today(day: datetime.date) -> types.SimpleNamespace:
    class Today(datetime.date):
        @classmethod
        def today(cls) -> datetime.date:
            return day

    return types.SimpleNamespace(date=Today, timedelta=datetime.timedelta, datetime=datetime.datetime)


def _task_manager(puts: _Puts) -> TaskManager:
    manager = TaskManager.__new__(TaskManager)
    manager.config = {"dynamo_db_config": {"field_names": {}, "required_fields": ["task_id", "labourer_id",
                                                                                   "created_at", "greenfield"]},
                      "greenfield_task_step": 1000}
    manager.dynamo_db_client = puts
    manager.get_newest_greenfield_for_labourer = lambda labourer: 0
    return manager


def _scheduler(variants: dict[str, list[str]], labourer: Labourer, folder: str, number: int) -> Scheduler:
    scheduler = Scheduler.__new__(Scheduler)
    schemas = {name: {"chunkable_attrs": [(attr, {}) for attr in attrs]} for name, attrs in variants.items()}
    scheduler.config = {"job_schema": schemas["default"], "job_schema_variants": schemas}
    scheduler.initialize_from_job_schema()
    scheduler.task_client = types.SimpleNamespace(get_labourer=lambda labourer_id: labourer)
    scheduler._queue_file_name = f"{os.path.basename(folder)}/queue_{number}.txt"  # under /tmp, as sosw wants
    return scheduler


def run(case: dict, folder: str, number: int) -> dict:
    labourer = Labourer(id=case["labourer"], arn=f"arn:aws:lambda:us-west-2:000000000000:function:{case['labourer']}")
    scheduler_module.datetime = _fixed_today(datetime.date.fromisoformat(case["today"]))
    scheduler = _scheduler(case["variants"], labourer, folder, number)
    puts = _Puts()
    try:
        job = scheduler.extract_job_from_payload(case["event"])
        scheduler.apply_job_schema(name=job.get("job_schema_name"))
        scheduler.parse_job_to_file(job)
        with open(scheduler.local_queue_file) as rows:
            tasks = [json.loads(line) for line in rows]
        manager = _task_manager(puts)
        for task in tasks:
            manager.create_task(labourer=labourer, **task)
        payloads = [json.loads(item["payload"]) for item in puts.items]
        for payload in payloads:
            if not isinstance(payload, dict):  # the Orchestrator's ``call_payload.update(task)`` fails
                raise TypeError(f"payload is {type(payload).__name__}, the Orchestrator cannot invoke it")
        return {"id": case["id"], "payloads": payloads}
    except Exception as exc:  # noqa: BLE001 - any exception is the result recorded: sosw crashed on the job
        return {"id": case["id"], "crash": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        if os.path.exists(scheduler.local_queue_file):
            os.remove(scheduler.local_queue_file)


def main() -> None:
    logging.disable(logging.CRITICAL)  # sosw logs every step at warning/error on the root logger
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="sosw07_diff_") as folder:
        for number, line in enumerate(sys.stdin):
            sys.stdout.write(json.dumps(run(json.loads(line), folder, number)) + "\n")


if __name__ == "__main__":
    main()

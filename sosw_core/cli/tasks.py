"""``sosw-core tasks list|show``: find tasks and read one task's history."""

from __future__ import annotations

import argparse
import dataclasses

from sosw_core.cli.render import dump_json, table
from sosw_core.cli.target import add_target_arguments, config_from_args
from sosw_core.clock import iso
from sosw_core.domain.task import Task, TaskState
from sosw_core.wiring import build_store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tasks", help="list tasks or show one task with its history",
                            description="List a labourer's tasks by state, or show one task.")
    actions = parser.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)
    lister = actions.add_parser("list", help="tasks of a labourer, optionally in one state")
    add_target_arguments(lister)
    lister.add_argument("--labourer", required=True, help="labourer id")
    lister.add_argument("--state", choices=[s.value for s in TaskState], help="only this state")
    lister.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    lister.add_argument("--json", action="store_true", help="one JSON object per line")
    lister.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one task: state, payload, result and event history")
    add_target_arguments(show)
    show.add_argument("task_id")
    show.add_argument("--json", action="store_true", help="print the task as JSON")
    show.set_defaults(func=run_show)


def task_dict(task: Task) -> dict:
    data = dataclasses.asdict(task)
    data.pop("token")  # the report credential is never printed
    data["state"] = task.state.value
    data["events"] = [{"at": iso(e.at), "event": e.kind.value, "attempt": e.attempt,
                       **({"detail": e.detail} if e.detail else {})} for e in task.events]
    return data


def run_list(args: argparse.Namespace) -> int:
    store = build_store(config_from_args(args))
    state = TaskState(args.state) if args.state else None
    tasks = store.queries.list_tasks(args.labourer, state, limit=args.limit)
    if args.json:
        for task in tasks:
            dump_json(task_dict(task))
        return 0
    table(("task_id", "state", "attempts", "created", "updated", "error"),
          [(t.task_id, t.state.value, t.attempts, iso(t.created_at), iso(t.updated_at),
            t.error_type or "") for t in tasks])
    return 0


def run_show(args: argparse.Namespace) -> int:
    task = build_store(config_from_args(args)).tasks.get(args.task_id)
    data = task_dict(task)
    if args.json:
        dump_json(data)
        return 0
    for key in ("task_id", "labourer_id", "job_id", "state", "attempts", "error_type", "error_message"):
        print(f"{key:14} {data[key] if data[key] is not None else '-'}")
    print(f"{'payload':14} {data['payload']}")
    if task.result is not None:
        print(f"{'result':14} {task.result}")
    print()
    table(("at", "event", "attempt", "detail"),
          [(e["at"], e["event"], e["attempt"], e.get("detail", "")) for e in data["events"]])
    return 0

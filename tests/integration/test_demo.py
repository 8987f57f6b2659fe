"""The main job (``sosw-core demo``) at a small size: nothing lost, the expected tasks dead."""

from __future__ import annotations

import json

import pytest

from sosw_core.adapters.dynamodb import open_store
from sosw_core.cli.main import main
from sosw_core.domain.task import TaskState
from sosw_core.local.demo import Demo, DemoOptions, demo_config, demo_jobs, expected_dead

pytestmark = pytest.mark.integration


def test_demo_ends_with_every_task_final_and_the_bounces_dead(dynamodb_local):
    options = DemoOptions(tasks=400, tick_seconds=0.3, endpoint_url=dynamodb_local, timeout_seconds=240)
    result = Demo(options).run()
    assert result.tasks >= 380
    assert result.lost == 0
    assert result.completed + result.dead == result.tasks
    assert result.dead == result.expected_dead == expected_dead(demo_jobs(400))
    assert result.alerts == result.dead
    limits = {lab.id: lab.max_simultaneous_invocations for lab in demo_config(options).labourers}
    assert all(0 < result.max_running[lab] <= limits[lab] for lab in limits)


def test_demo_jobs_include_dead_tasks_at_the_default_size():
    assert expected_dead(demo_jobs(3000)) > 0


def test_demo_cli_prints_a_json_summary_last(dynamodb_local, capsys):
    code = main(["demo", "--tasks", "120", "--tick", "0.3", "--endpoint-url", dynamodb_local, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert code == 0
    assert summary["lost"] == 0 and summary["tasks"] == summary["completed"] + summary["dead"]
    assert set(summary["max_running"]) == {"thumbnails", "invoices", "emails"}
    assert {"tasks", "completed", "dead", "lost", "seconds", "max_running"} <= set(summary)


def test_demo_tables_hold_what_the_summary_says(dynamodb_local):
    options = DemoOptions(tasks=150, tick_seconds=0.3, endpoint_url=dynamodb_local, timeout_seconds=240)
    demo = Demo(options)
    result = demo.run()
    store = open_store(demo.config)
    rows = list(store.models.task.scan())
    assert len(rows) == result.tasks
    assert sum(r.state == TaskState.COMPLETED.value for r in rows) == result.completed

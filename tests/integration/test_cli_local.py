"""``sosw-core local up`` as a user runs it: a process that works until Ctrl-C, then stops cleanly."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sosw_core.adapters.dynamodb import delete_tables, open_store
from sosw_core.config import DynamoDBConfig, TablesConfig
from sosw_core.config.loader import load_config
from sosw_core.domain.task import NewTask, TaskState

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SOSW = [sys.executable, "-m", "sosw_core.cli.main"]


@pytest.fixture
def target(dynamodb_local):
    suffix = uuid.uuid4().hex[:8]
    args = ["--config", "examples/local", "--endpoint-url", dynamodb_local,
            "--tasks-table", f"up_tasks_{suffix}", "--jobs-table", f"up_jobs_{suffix}"]
    config = dataclasses.replace(load_config("cli", config_dir=ROOT / "examples" / "local"),
                                 dynamodb=DynamoDBConfig(endpoint_url=dynamodb_local),
                                 tables=TablesConfig(tasks=f"up_tasks_{suffix}", jobs=f"up_jobs_{suffix}"))
    yield args, config
    delete_tables(open_store(config).models)


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_local_up_runs_tasks_and_stops_cleanly_on_ctrl_c(target):
    args, config = target
    process = subprocess.Popen([*SOSW, "local", "up", *args, "--tick", "0.3", "--report-every", "1"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        ready = process.stdout.readline()
        assert ready.startswith("ready: DynamoDB at "), ready + process.stderr.read()
        store = open_store(config)
        n = 30
        store.batch.create_many([NewTask(f"t{i:02d}", "example_worker", {"numbers": [i, 1]})
                                 for i in range(n)], time.time())
        # guards against a hang, not speed checks (~3 s on a loaded 2-core machine)
        wait_for(lambda: store.queries.counts("example_worker")[TaskState.COMPLETED] == n, 300,
                 "the tasks to complete")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "[stopped] example_worker: 30 completed" in err
    rows = {r.task_id: r for r in store.models.task.scan()}
    assert len(rows) == n and {r.state for r in rows.values()} == {TaskState.COMPLETED.value}
    assert rows["t07"].result.as_dict() == {"sum": 8}


def test_local_up_refuses_a_labourer_without_a_handler_naming_it(target, tmp_path):
    args, _ = target
    (tmp_path / "sosw.json").write_text('{"labourers": [{"id": "ghost_worker"}]}')
    args = [*args[2:], "--config", str(tmp_path)]
    result = subprocess.run([*SOSW, "local", "up", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "labourers.ghost_worker" in result.stderr and "--worker ghost_worker=" in result.stderr
    bad = subprocess.run([*SOSW, "local", "up", *args, "--worker", "ghost_worker=nowhere"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "--worker ghost_worker" in bad.stderr and "module:attribute" in bad.stderr

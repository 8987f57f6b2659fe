"""The CLI's store commands against DynamoDB Local: tables, status, tasks, redrive."""

from __future__ import annotations

import json

import pytest

from sosw_core.adapters.dynamodb import open_store
from sosw_core.cli.main import main
from sosw_core.domain.task import NewTask, TaskState
from tests.support import labourer, make_config

pytestmark = pytest.mark.integration
T0 = 1_700_000_000.0


def target(config) -> list[str]:
    return ["--endpoint-url", config.dynamodb.endpoint_url, "--tasks-table", config.tables.tasks,
            "--jobs-table", config.tables.jobs]


@pytest.fixture
def populated(local_config):
    """Labourer w: 3 queued, 1 running, 1 completed, 2 dead (one ValueError, one LeaseExpired)."""
    store = open_store(local_config)
    lab = labourer("w", max_attempts=1)
    store.batch.create_many([NewTask(f"t{i}", "w", {"i": i}) for i in range(7)], T0)
    claimed = []
    for ref in store.queries.next_queued("w", 4):
        claimed.append(store.tasks.claim(ref.task_id, ref.attempts, lab, T0 + 1))
    a, b, c, _ = claimed
    store.tasks.complete(a.task_id, a.token, 1, T0 + 2)
    store.tasks.fail(b.task_id, b.token, 1, lab, T0 + 3, error_type="ValueError", message="bad")
    store.tasks.expire(c.task_id, 1, lab, T0 + 100)
    return local_config, store, (a, b, c)


def test_tables_create_is_idempotent(dynamodb_local, capsys):
    config = make_config(dynamodb_local)
    assert main(["tables", "create", *target(config)]) == 0
    assert main(["tables", "create", *target(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["created", "created", "exists", "exists"]


def test_status_counts_from_the_table(populated, capsys):
    config, _, _ = populated
    assert main(["status", "--labourer", "w", "--json", *target(config)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["labourers"]
    assert {k: row[k] for k in ("queued", "invoked", "retrying", "completed", "dead")} == {
        "queued": 3, "invoked": 1, "retrying": 0, "completed": 1, "dead": 2}
    assert main(["status", "--labourer", "w", *target(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["labourer", "queued", "running", "retrying", "completed", "dead",
                                "oldest", "queued", "health"]
    assert lines[2].split()[:6] == ["w", "3", "1", "0", "1", "2"]
    assert lines[2].split()[-1] == "-"  # "w" is not in this config: no health to compute


def test_status_health_column_from_the_configured_labourers(populated, capsys, tmp_path):
    config, _, _ = populated
    (tmp_path / "sosw.json").write_text(json.dumps({"labourers": [
        {"id": "w"},
        {"id": "watched", "health_metrics": [{"name": "lag", "namespace": "App", "metric_name": "Lag",
                                              "comparison": "le", "feelings": {"4": 10}}]}]}))
    assert main(["status", "--json", "--config", str(tmp_path), *target(config)]) == 0
    rows = {r["labourer_id"]: r for r in json.loads(capsys.readouterr().out)["labourers"]}
    assert rows["w"]["health"] == 4 and rows["w"]["queued"] == 3
    assert rows["watched"]["health"] == "n/a (local)"  # no CloudWatch behind a local endpoint


def test_tasks_list_and_show(populated, capsys):
    config, _, (a, _, _) = populated
    assert main(["tasks", "list", "--labourer", "w", "--state", "dead", "--json", *target(config)]) == 0
    dead = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(t["error_type"] for t in dead) == ["LeaseExpired", "ValueError"]
    assert all("token" not in t for t in dead)
    assert main(["tasks", "show", a.task_id, *target(config)]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "claimed" in out and a.token not in out


def test_show_unknown_task_is_one_clear_error(populated, capsys):
    config, _, _ = populated
    assert main(["tasks", "show", "nope", *target(config)]) == 1
    assert "no task with task_id 'nope'" in capsys.readouterr().err


def test_redrive_dry_run_then_filtered_redrive(populated, capsys):
    config, store, (_, b, c) = populated
    assert main(["redrive", "--labourer", "w", "--dry-run", *target(config)]) == 0
    assert "2 dead task(s) would be redriven" in capsys.readouterr().out
    assert store.queries.counts("w")[TaskState.DEAD] == 2  # dry run changed nothing
    assert main(["redrive", "--labourer", "w", "--error-type", "ValueError", *target(config)]) == 0
    assert "redriven 1 of 1" in capsys.readouterr().out
    assert store.tasks.get(b.task_id).state is TaskState.QUEUED
    assert store.tasks.get(c.task_id).state is TaskState.DEAD


def test_missing_table_is_reported_with_the_fix(dynamodb_local, capsys):
    config = make_config(dynamodb_local)
    assert main(["status", "--labourer", "w", *target(config)]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "sosw-core tables create" in err


def test_every_command_has_help(capsys):
    for argv in (["--help"], ["status", "--help"], ["tasks", "list", "--help"], ["redrive", "--help"],
                 ["tables", "create", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        assert "usage: sosw-core" in capsys.readouterr().out

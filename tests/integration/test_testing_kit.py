"""sosw_core.testing on DynamoDB Local: the same harness and fixtures on the emulator AWS ships
(the plugin is registered for every test in tests/conftest.py; its DynamoDB Local is the session's)."""

from __future__ import annotations

import socket
import textwrap

import boto3
import pytest

from sosw_core.domain.events import Action
from sosw_core.domain.task import EventKind, TaskState
from sosw_core.testing import WorkerHarness, dynamodb_local_backend, open_backend
from tests.support import count_rows
from workers.example_worker.handler import OutOfTime, SumWorker

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]


def table_names(endpoint):
    """Tables in DynamoDB Local, as the project's clients see them (one fixed local key pair)."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    return set(client.list_tables()["TableNames"])


@pytest.mark.parametrize("sosw_backend_name", ["memory", "moto", "dynamodb-local"])
def test_the_example_worker_behaves_the_same_on_every_backend(sosw_backend, sosw_harness, sosw_backend_name):
    ok = sosw_harness.run(SumWorker, {"numbers": [1, 2, 3.5]})
    ok.assert_completed({"sum": 6.5})
    late = sosw_harness.run(SumWorker(heartbeat_every=1), {"numbers": [1, 2]}, timeout_seconds=1)
    late.assert_failed(OutOfTime.__name__, state=TaskState.RETRYING)
    again = sosw_harness.retry(SumWorker(heartbeat_every=1), late)
    again.assert_completed({"sum": 3})
    assert [r.outcome for r in again.heartbeats] == ["applied"]
    duplicate = sosw_harness.redeliver(SumWorker, again)
    assert duplicate.outcome == "duplicate" and duplicate.task == again.task
    assert [e.kind for e in again.task.events] == [
        EventKind.CREATED, EventKind.CLAIMED, EventKind.FAILED, EventKind.RETRY_SCHEDULED,
        EventKind.REQUEUED, EventKind.CLAIMED, EventKind.HEARTBEAT, EventKind.COMPLETED]
    assert count_rows(sosw_backend.store) == 2
    assert sosw_backend.name == sosw_backend_name
    assert (sosw_backend.endpoint is not None) == (sosw_backend_name == "dynamodb-local")


def test_without_pytest_on_a_running_dynamodb_local_the_tables_are_dropped_after(dynamodb_local):
    with open_backend("dynamodb-local", labourers=["sum"], endpoint=dynamodb_local) as backend:
        assert backend.endpoint == dynamodb_local
        names = {backend.config.tables.tasks, backend.config.tables.jobs}
        assert names <= table_names(dynamodb_local)
        run = WorkerHarness.from_backend(backend).run(SumWorker, {"numbers": [5]})
        run.assert_completed({"sum": 5})
        assert run.reports[0].action is Action.COMPLETED and count_rows(backend.store) == 1
    assert not names & table_names(dynamodb_local)


def test_without_an_endpoint_a_dynamodb_local_is_started_and_stopped():
    with dynamodb_local_backend(labourers=["sum"]) as backend:
        port = int(backend.endpoint.rsplit(":", 1)[1])
        WorkerHarness.from_backend(backend).run(SumWorker, {"numbers": [2, 2]}).assert_completed({"sum": 4})
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more


def test_the_plugin_options_select_dynamodb_local(pytester, dynamodb_local):
    pytester.makeconftest('pytest_plugins = ["sosw_core.testing.pytest_plugin"]')
    pytester.makepyfile(test_worker=textwrap.dedent(f"""
        from workers.example_worker.handler import SumWorker

        def test_on_dynamodb_local(sosw_backend, sosw_harness):
            assert sosw_backend.name == "dynamodb-local"
            assert sosw_backend.endpoint == "{dynamodb_local}"
            sosw_harness.run(SumWorker, {{"numbers": [1, 2]}}).assert_completed({{"sum": 3}})
    """))
    result = pytester.runpytest("-p", "no:cacheprovider", "--sosw-backend=dynamodb-local",
                                f"--sosw-dynamodb-endpoint={dynamodb_local}")
    result.assert_outcomes(passed=1)


def test_the_ini_option_selects_dynamodb_local(pytester, dynamodb_local, monkeypatch):
    monkeypatch.setenv("SOSW_TEST_DYNAMODB_ENDPOINT", dynamodb_local)
    pytester.makeconftest('pytest_plugins = ["sosw_core.testing.pytest_plugin"]')
    pytester.makeini("[pytest]\nsosw_backend = dynamodb-local\n")
    pytester.makepyfile(test_worker="""
        def test_on_dynamodb_local(sosw_backend):
            assert sosw_backend.name == "dynamodb-local"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

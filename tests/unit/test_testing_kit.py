"""sosw_core.testing itself (on its default backend, memory): the harness, its results, the
backends and the pytest plugin (registered for every test in tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sosw_core.domain.events import Action, worker_event
from sosw_core.domain.task import TaskState
from sosw_core.errors import InvalidTask, ReportRejected, UnknownLabourer
from sosw_core.services.worker import Worker
from sosw_core.testing import (
    BackendError,
    HarnessError,
    WorkerHarness,
    base_config,
    fake_aws_env,
    labourer_config,
    memory_backend,
    moto_backend,
    open_backend,
)
from tests.support import count_rows
from workers.example_worker.handler import SumWorker

pytest_plugins = ["pytester"]


class Peek(Worker):
    """Remembers what it was given: the invocation, the context's remaining time, the payload."""

    def __init__(self, advance=None):
        super().__init__()
        self.advance = advance
        self.seen = {}

    def process(self, payload):
        self.seen["payload"] = payload
        self.seen["invocation"] = self.invocation
        self.seen["remaining"] = [self.remaining_time_ms()]
        if self.advance:
            self.advance()
            self.seen["remaining"].append(self.remaining_time_ms())
        if payload.get("fail"):
            raise KeyError("fail")
        return {"ok": True}


# -- the harness ------------------------------------------------------------------------------
def test_the_event_is_the_orchestrators_for_the_claimed_row(sosw_harness):
    task = sosw_harness.create({"n": 1, "tags": ("a", "b")}, job_id="job-7")
    event = sosw_harness.dispatch(task.task_id)
    row = sosw_harness.task(task.task_id)
    assert row.state is TaskState.INVOKED and row.attempts == 1
    assert event == {"n": 1, "tags": ["a", "b"], "task_id": task.task_id, "labourer_id": "worker",
                     "created_at": row.created_at, "greenfield": int(row.created_at), "attempts": 0,
                     "sosw_core": {"labourer_id": "worker", "attempt": 1, "token": row.token, "job_id": "job-7",
                                   "deadline_at": sosw_harness.clock.now() + 60}}
    assert event == {**worker_event(row), "tags": ["a", "b"]}  # as Lambda delivers it: JSON, no tuples


def test_the_context_runs_on_the_harness_clock(sosw_harness):
    worker = Peek(advance=lambda: sosw_harness.clock.advance(10))
    run = sosw_harness.run(worker, {"n": 1})
    run.assert_completed({"ok": True})
    assert worker.seen["remaining"] == [60_000, 50_000]  # the lease by default
    assert worker.seen["invocation"].task_id == run.task_id and worker.seen["payload"] == {"n": 1}
    short = Peek()
    sosw_harness.run(short, {"n": 2}, timeout_seconds=2.5)
    assert short.seen["remaining"] == [2_500]


def test_a_worker_class_is_instantiated_and_an_instance_keeps_its_own_reporter(sosw_harness):
    sosw_harness.run(SumWorker, {"numbers": [1]}).assert_completed({"sum": 1})
    worker = SumWorker()
    sosw_harness.run(worker, {"numbers": [2]}).assert_completed({"sum": 2})
    assert worker._reporter is None  # the harness's reporter was only lent for the run
    rows = count_rows(sosw_harness.store)
    with pytest.raises(TypeError, match="worker: must be a sosw_core.services.worker.Worker"):
        sosw_harness.run(lambda event, context: None, {"numbers": [1]})
    assert count_rows(sosw_harness.store) == rows  # refused before any write


def test_a_refused_report_is_kept_on_the_run_and_changes_nothing(sosw_harness):
    task = sosw_harness.create({"numbers": [1]})
    event = sosw_harness.dispatch(task.task_id)
    event["sosw_core"]["token"] = "forged"
    run = sosw_harness.deliver(SumWorker, event)
    assert isinstance(run.raised, ReportRejected) and run.outcome is None
    assert run.reports[0].action is Action.COMPLETED and isinstance(run.reports[0].error, ReportRejected)
    assert run.state is TaskState.INVOKED and run.task.attempts == 1 and run.result is None
    with pytest.raises(AssertionError, match="handler raised ReportRejected"):
        run.assert_completed()


def test_assertions_say_what_happened_instead(sosw_harness):
    failed = sosw_harness.run(Peek(), {"fail": True})
    failed.assert_failed("KeyError", state="retrying")
    with pytest.raises(AssertionError, match=r"reported mark_task_as_failed \(applied\); row state retrying; "
                                             r"error KeyError: 'fail'"):
        failed.assert_completed()
    with pytest.raises(AssertionError, match="failed with KeyError, expected ValueError"):
        failed.assert_failed("ValueError")
    with pytest.raises(AssertionError, match="is retrying, expected dead"):
        failed.assert_failed(state=TaskState.DEAD)
    done = sosw_harness.run(Peek(), {})
    with pytest.raises(AssertionError, match=r"completed with result \{'ok': True\}, expected \{'ok': False\}"):
        done.assert_completed({"ok": False})
    with pytest.raises(AssertionError, match="expected an applied failure"):
        done.assert_failed()


def test_retry_waits_out_the_backoff_and_runs_the_next_attempt(sosw_harness):
    start = sosw_harness.clock.now()
    first = sosw_harness.run(Peek(), {"fail": True})
    assert first.task.deadline_at == start + 10  # the test labourer's exact first backoff
    second = sosw_harness.retry(Peek(), first)
    assert sosw_harness.clock.now() == start + 10 and second.attempt == 2
    third = sosw_harness.retry(Peek(), second)
    assert sosw_harness.clock.now() == start + 30 and third.state is TaskState.DEAD
    with pytest.raises(HarnessError, match="is dead; only a retrying or queued task runs again"):
        sosw_harness.retry(Peek(), third)


def test_what_the_harness_refuses(sosw_harness):
    done = sosw_harness.run(Peek(), {})
    with pytest.raises(HarnessError, match="is completed; only a queued task can be dispatched"):
        sosw_harness.dispatch(done.task_id)
    with pytest.raises(HarnessError, match="is completed; only an invoked task has a lease"):
        sosw_harness.expire(done.task_id)
    sosw_harness.create({}, task_id="same")
    with pytest.raises(HarnessError, match="task_id: a task 'same' exists already"):
        sosw_harness.create({}, task_id="same")
    with pytest.raises(HarnessError, match="event: has no sosw_core envelope"):
        sosw_harness.deliver(Peek(), {"n": 1})
    with pytest.raises(UnknownLabourer):
        sosw_harness.create({}, labourer_id="nobody")


def test_a_payload_that_cannot_be_a_task_is_refused_before_any_write(sosw_harness, sosw_backend):
    rows = count_rows(sosw_backend.store)
    with pytest.raises(InvalidTask, match="task payload: must be JSON-serialisable"):
        sosw_harness.run(Peek(), {"when": object()})
    assert count_rows(sosw_backend.store) == rows


@pytest.mark.parametrize("sosw_labourers", [["a", "b"]])
def test_with_several_labourers_the_labourer_is_named(sosw_harness):
    with pytest.raises(HarnessError, match=r"labourer_id: required when the config has several labourers \(a, b\)"):
        sosw_harness.run(Peek(), {})
    run = sosw_harness.run(Peek(), {}, labourer_id="b")
    assert run.labourer_id == "b" and run.task.labourer_id == "b" and run.event["sosw_core"]["labourer_id"] == "b"


# -- backends without pytest ------------------------------------------------------------------
def test_fake_aws_env_replaces_credentials_and_restores_them(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREAL")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with fake_aws_env():
        assert "AWS_PROFILE" not in os.environ and os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_SESSION_TOKEN"] == "testing" and os.environ["AWS_REGION"] == "us-east-1"
    assert os.environ["AWS_PROFILE"] == "prod" and os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREAL"
    assert "AWS_SESSION_TOKEN" not in os.environ


def test_moto_backend_without_pytest_runs_a_worker_on_fresh_tables():
    with moto_backend(labourers=[labourer_config("sum")]) as one, moto_backend(labourers=["sum"]) as two:
        assert one.name == "moto" and one.endpoint is None
        assert one.config.tables.tasks != two.config.tables.tasks
        assert one.store.models.task.exists() and one.store.models.job.exists()
        run = WorkerHarness.from_backend(one).run(SumWorker, {"numbers": [1, 2]})
        run.assert_completed({"sum": 3})
        assert count_rows(one.store) == 1 and count_rows(two.store) == 0


def test_memory_backend_without_pytest_runs_a_worker_on_fresh_tables():
    with memory_backend(labourers=["sum"]) as one, open_backend("memory", labourers=["sum"]) as two:
        assert one.name == two.name == "memory" and one.endpoint is None
        assert one.store.tables is not two.store.tables
        run = WorkerHarness.from_backend(one).run(SumWorker, {"numbers": [1, 2]})
        run.assert_completed({"sum": 3})
        assert count_rows(one.store) == 1 and count_rows(two.store) == 0
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"  # a worker's own AWS calls cannot reach AWS


MEMORY_WITHOUT_MOTO = """
import sys

class NoMoto:  # as if moto were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, NoMoto())
from sosw_core.testing import WorkerHarness, memory_backend
from workers.example_worker.handler import SumWorker

with memory_backend(labourers=["sum"]) as backend:
    WorkerHarness.from_backend(backend).run(SumWorker, {"numbers": [4, 5]}).assert_completed({"sum": 9})
print("moto loaded:", "moto" in sys.modules)
"""


def test_the_memory_backend_needs_no_moto():
    done = subprocess.run([sys.executable, "-c", MEMORY_WITHOUT_MOTO], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "moto loaded: False"


def test_backend_arguments_are_checked():
    with pytest.raises(BackendError, match="backend must be one of memory, moto, dynamodb-local"):
        with open_backend("sqlite"):
            pass
    for name in ("memory", "moto"):
        with pytest.raises(BackendError, match="endpoint: only the dynamodb-local backend"):
            with open_backend(name, endpoint="http://127.0.0.1:8000"):
                pass
    with pytest.raises(ValueError, match="labourers: at least one labourer"):
        base_config([])
    with pytest.raises(TypeError, match="labourers: each must be a LabourerConfig or a non-empty id"):
        labourer_config(7)
    with pytest.raises(ValueError, match="either config or labourers"):
        with memory_backend(base_config(), labourers=["x"]):
            pass


# -- the pytest plugin, in a pytest run of its own -------------------------------------------
INNER_TESTS = """
    import pytest
    from sosw_core.config import LabourerConfig
    from workers.example_worker.handler import SumWorker

    def test_default_backend_is_memory(sosw_backend, sosw_harness):
        assert sosw_backend.name == "memory" and sosw_backend.endpoint is None
        sosw_harness.run(SumWorker, {"numbers": [1, 2]}).assert_completed({"sum": 3})

    @pytest.mark.parametrize("sosw_backend_name", ["memory", "moto"])
    def test_on_both(sosw_backend, sosw_harness, sosw_backend_name):
        assert sosw_backend.name == sosw_backend_name
        sosw_harness.run(SumWorker, {"numbers": [2]}).assert_completed({"sum": 2})

    def test_credentials_are_fake(sosw_aws_env):
        import os
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing" and "AWS_PROFILE" not in os.environ

    @pytest.fixture
    def sosw_labourers():
        return [LabourerConfig(id="mine", max_attempts=1)]

    def test_overridden_labourers(sosw_harness):
        run = sosw_harness.run(SumWorker, {"numbers": "x"})
        run.assert_failed("ValueError", state="dead")
        assert run.labourer_id == "mine"

    @pytest.mark.sosw_backend("moto")
    def test_marker(sosw_backend):
        assert sosw_backend.name == "moto"

    @pytest.mark.parametrize("sosw_backend_name", ["nope"])
    def test_bad_name(sosw_backend):
        pass
"""


def test_the_plugin_in_a_users_test_session(pytester):
    pytester.makeconftest('pytest_plugins = ["sosw_core.testing.pytest_plugin"]')
    pytester.makepyfile(test_worker=textwrap.dedent(INNER_TESTS))
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=6, errors=1)
    result.stdout.fnmatch_lines(["*BackendError: backend must be one of memory, moto, dynamodb-local (got 'nope')*"])


def test_the_command_line_chooses_the_backend(pytester):
    pytester.makeconftest('pytest_plugins = ["sosw_core.testing.pytest_plugin"]')
    pytester.makepyfile(test_worker="""
        def test_on_moto(sosw_backend):
            assert sosw_backend.name == "moto" and sosw_backend.store.models.task.exists()
    """)
    pytester.runpytest("-p", "no:cacheprovider", "--sosw-backend=moto").assert_outcomes(passed=1)


def test_the_plugin_documents_its_options(pytester):
    pytester.makeconftest('pytest_plugins = ["sosw_core.testing.pytest_plugin"]')
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--sosw-backend=*", "*--sosw-dynamodb-endpoint=URL*", "*sosw_backend (string)*"])
    bad = pytester.runpytest("--sosw-backend=dynamo")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


# -- the kit with nothing but `pip install sosw-core` and pytest -----------------------------
FRESH_VENV = "SOSW_TEST_FRESH_VENV"
A_USERS_TEST = """
import sys

from sosw_core.services.worker import Worker


class Double(Worker):
    def process(self, payload):
        return {"twice": payload["n"] * 2}


def test_double(sosw_backend, sosw_harness):
    assert sosw_backend.name == "memory"
    sosw_harness.run(Double, {"n": 21}).assert_completed({"twice": 42})
    sosw_harness.run(Double, {}).assert_failed("KeyError", state="retrying")
    assert "moto" not in sys.modules
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(FRESH_VENV), reason=f"builds a venv from the package index: set {FRESH_VENV}=1")
def test_a_fresh_install_without_extras_runs_a_worker_test_in_memory(tmp_path):
    root = Path(__file__).resolve().parents[2]
    source = tmp_path / "sosw-core"  # a copy: building in place would leave build/ in the repository
    shutil.copytree(root / "sosw_core", source / "sosw_core", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", source, "pytest"], check=True, timeout=900)
    assert subprocess.run([venv / "bin" / "python", "-c", "import moto"], capture_output=True).returncode != 0
    project = tmp_path / "user_project"
    project.mkdir()
    (project / "conftest.py").write_text('pytest_plugins = ["sosw_core.testing.pytest_plugin"]\n')
    (project / "test_my_worker.py").write_text(A_USERS_TEST)
    done = subprocess.run([venv / "bin" / "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout

"""The public API of ``sosw_core``: its names, its version, and submitting a job from Python."""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import sosw_core
from sosw_core.adapters.dynamodb import create_tables, open_store
from sosw_core.adapters.invokers.lambda_ import ASYNC_PAYLOAD_LIMIT
from sosw_core.cli.main import main
from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.job import canonical_job_id, parse_job
from sosw_core.wiring import build_store
from tests.fakes import RunsOut
from tests.support import count_rows, labourer, make_config

AWS_LIBRARIES = ("boto3", "botocore", "pynamodb")
JOB = {"lambda_name": "w", "isolate_sections": True,
       "sections": {"s1": None, "s2": {"isolate_stores": True, "stores": ["a", "b"]}}}
LEVELS = ("section", "store")
NOON = 1_699_963_200.0  # 2023-11-14T12:00Z


def config(**kwargs):
    return make_config(None, labourers=(labourer("w"),),
                       scheduler=SchedulerConfig(job_schema_variants=(("default", LEVELS),)), **kwargs)


def aws_modules_after(code: str) -> list[str]:
    """The AWS libraries loaded by running ``code`` in a fresh interpreter."""
    probe = (f"import sys\n{code}\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {AWS_LIBRARIES!r}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().replace("'", '"'))


# --- names --------------------------------------------------------------------------------------


def test_every_public_name_resolves_and_is_listed():
    assert set(sosw_core.__all__) == set(sosw_core._EXPORTS) | {"__version__"}
    for name in sosw_core.__all__:
        assert getattr(sosw_core, name) is not None, name
    assert set(sosw_core.__all__) <= set(dir(sosw_core))
    assert sosw_core.Worker.__module__ == "sosw_core.services.worker"
    assert issubclass(sosw_core.InvalidJob, sosw_core.SoswError)
    assert issubclass(sosw_core.ReportFailed, sosw_core.SoswError)
    assert sosw_core.TaskState("dead") is sosw_core.TaskState.DEAD


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Wroker'"):
        sosw_core.Wroker  # noqa: B018


def test_the_version_has_one_source():
    """setup.cfg reads ``sosw_core.__version__`` (``attr:``): the installed metadata agrees."""
    assert importlib.metadata.version("sosw-core") == sosw_core.__version__


def test_importing_the_package_loads_no_aws_library():
    assert aws_modules_after("import sosw_core") == []
    assert aws_modules_after("from sosw_core import InvalidJob, SoswError, TaskState, Outcome, load_config, "
                             "submit_job, ingest_job") == []


def test_importing_worker_loads_no_aws_library():
    """A worker's cold start pays for botocore only when it sends its first report."""
    assert aws_modules_after("from sosw_core import Worker") == []


# --- submit_job ----------------------------------------------------------------------------------


class Recording:
    """A boto3 Lambda client that keeps what it was asked to send, then sends it."""

    def __init__(self, client):
        self.client = client
        self.calls: list[dict] = []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        return self.client.invoke(**kwargs)


def deploy_function(name: str) -> None:
    """A function ``name`` on moto's Lambda (which answers invokes without running them)."""
    role = boto3.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                           Handler="handler.handler", Code={"ZipFile": code.getvalue()})


@pytest.fixture
def lambda_client():
    """moto's Lambda with a Scheduler function named ``sosw_scheduler`` (the config default)."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        deploy_function("sosw_scheduler")
        yield Recording(boto3.client("lambda"))


def test_submit_job_sends_the_job_asynchronously_to_the_scheduler(lambda_client):
    sent = sosw_core.submit_job(JOB, client=lambda_client, config=config(), schemas={},
                                clock=FixedClock(NOON))
    [call] = lambda_client.calls
    assert call["FunctionName"] == "sosw_scheduler" == sent.function_name
    assert call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == JOB
    assert sent.status_code == 202
    assert sent.request_id
    assert sent.job_id == f"{canonical_job_id(parse_job(JOB))}-2023-11-14"
    assert (sent.labourer_id, sent.tasks) == ("w", 3)  # s1, s2/a, s2/b


def test_submit_job_sends_json_text_unchanged_to_the_named_function(lambda_client):
    text = '{"lambda_name": "w", "sosw_core": {"job_id": "nightly-1"}, "sections": {"s1": null}}'
    sent = sosw_core.submit_job(text, function_name="sosw_scheduler", client=lambda_client,
                                config=config(), schemas={})
    assert lambda_client.calls[0]["Payload"] == text.encode()
    assert (sent.job_id, sent.tasks) == ("nightly-1", 1)


@pytest.mark.parametrize(("job", "field"), [
    ({"sections": {}}, "lambda_name"),
    ({"lambda_name": "nobody"}, "lambda_name"),  # not a configured labourer
    ({"lambda_name": "w", "sosw_core": {"job_id": "#dispatch"}}, "sosw_core.job_id"),
    ('{"lambda_name": ', "job"),
    ({"lambda_name": "w", "x": float("nan")}, "job"),
])
def test_submit_job_refuses_an_invalid_job_before_sending_anything(lambda_client, job, field):
    with pytest.raises(sosw_core.InvalidJob) as raised:
        sosw_core.submit_job(job, client=lambda_client, config=config(), schemas={})
    assert raised.value.path == field
    assert lambda_client.calls == []


def test_submit_job_refuses_a_job_that_breaks_its_schema(lambda_client):
    schema = {"type": "object", "required": ["sections"]}
    pytest.importorskip("jsonschema")
    with pytest.raises(sosw_core.InvalidJob, match="sections"):
        sosw_core.submit_job({"lambda_name": "w"}, client=lambda_client, config=config(), schemas={"w": schema})
    assert lambda_client.calls == []


def test_submit_job_refuses_a_job_over_the_async_payload_limit(lambda_client):
    big = {"lambda_name": "w", "sosw_core": {"job_id": "big"}, "notes": "x" * ASYNC_PAYLOAD_LIMIT}
    with pytest.raises(sosw_core.InvalidJob, match=f"at most {ASYNC_PAYLOAD_LIMIT}") as raised:
        sosw_core.submit_job(big, client=lambda_client, config=config(), schemas={})
    assert raised.value.path == "job"
    assert lambda_client.calls == []


def test_submit_job_refuses_a_task_payload_over_the_task_limit(lambda_client):
    limit = config().scheduler.max_payload_bytes
    job = {"lambda_name": "w", "sosw_core": {"job_id": "wide"}, "notes": "x" * (limit + 1)}  # under the async limit
    with pytest.raises(sosw_core.InvalidJob, match=f"the limit is {limit}") as raised:
        sosw_core.submit_job(job, client=lambda_client, config=config(), schemas={})
    assert raised.value.path == "task 0"
    assert lambda_client.calls == []


# --- ingest_job ----------------------------------------------------------------------------------


@pytest.fixture
def moto_store():
    with mock_aws():
        cfg = config()
        store = open_store(cfg)
        create_tables(store.models)
        yield cfg, store


def test_ingest_job_writes_the_tasks_once(moto_store):
    cfg, store = moto_store
    first = sosw_core.ingest_job(JOB, config=cfg, store=store, schemas={}, as_of=date(2023, 11, 14))
    assert (first["state"], first["total"], first["written"], first["duplicate"]) == ("done", 3, 3, False)
    assert count_rows(store) == 3
    again = sosw_core.ingest_job(JOB, config=cfg, store=store, schemas={}, as_of=date(2023, 11, 14))
    assert (again["job_id"], again["duplicate"], again["written"]) == (first["job_id"], True, 0)
    assert count_rows(store) == 3


def test_ingest_job_on_the_default_dynamodb_store(moto_store):
    """Without ``store``: the tables ``config`` names (here moto's), through the wiring."""
    cfg, store = moto_store
    result = sosw_core.ingest_job(json.dumps(JOB), config=cfg, schemas={})
    assert result["written"] == count_rows(store) == 3


@pytest.mark.parametrize(("job", "field"), [
    ({"lambda_name": "nobody", "sections": {"s1": None}}, "lambda_name"),
    ({"lambda_name": "w", "isolate_sections": True, "sections": {"s1": 5}}, "sections.s1"),
])
def test_ingest_job_refuses_an_invalid_job_and_writes_nothing(moto_store, job, field):
    cfg, store = moto_store
    with pytest.raises(sosw_core.InvalidJob) as raised:
        sosw_core.ingest_job(job, config=cfg, store=store, schemas={})
    assert raised.value.path == field
    assert count_rows(store) == 0
    assert list(store.models.job.scan()) == []


def test_ingest_job_runs_its_continuations_itself(monkeypatch):
    """Each in-process invocation has time for one page: the job goes on in continuations."""
    slices: list[RunsOut] = []
    monkeypatch.setattr("sosw_core.api._Slice", lambda seconds: slices.append(RunsOut(checks=2)) or slices[-1])
    cfg = config()
    store = build_store(cfg, "memory")
    job = {"lambda_name": "w", "isolate_sections": True, "sections": [f"s{i}" for i in range(1_200)]}
    result = sosw_core.ingest_job(job, config=cfg, store=store, schemas={})
    assert (result["state"], result["cursor"], result["written"]) == ("done", 1_200, 1_200)
    assert sum(store.queries.counts("w").values()) == 1_200
    assert len(slices) == 3  # pages of 500: 500, 500, 200


def test_ingest_job_in_memory():
    result = sosw_core.ingest_job(JOB, config=config(), backend="memory", schemas={})
    assert (result["state"], result["written"]) == ("done", 3)


def test_ingest_job_refuses_a_slice_too_short_to_write_a_page():
    cfg = config()
    with pytest.raises(ValueError, match="time_margin_seconds"):
        sosw_core.ingest_job(JOB, config=cfg, store=build_store(cfg, "memory"), schemas={},
                             slice_seconds=cfg.scheduler.time_margin_seconds)


# --- sosw-core submit is built on them ------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A working directory with a job file and the config in the environment (labourer ``w``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOSW_CONFIG_JSON", json.dumps(
        {"labourers": [{"id": "w"}], "scheduler": {"job_schema_variants": {"default": list(LEVELS)}}}))
    (tmp_path / "job.json").write_text(json.dumps(JOB))
    (tmp_path / "bad.json").write_text(json.dumps({**JOB, "lambda_name": "nobody"}))
    return tmp_path


def test_cli_submit_async_lambda_checks_then_sends(cli_env, lambda_client, capsys):
    assert main(["submit", "job.json", "--async-lambda", "sosw_scheduler"]) == 0
    assert "sent to sosw_scheduler (3 tasks; status 202" in capsys.readouterr().out
    assert main(["submit", "bad.json", "--async-lambda", "sosw_scheduler"]) == 2
    assert "lambda_name: no labourer named 'nobody'" in capsys.readouterr().err


def test_cli_submit_ingests_in_process(cli_env, capsys):
    with mock_aws():
        create_tables(open_store(sosw_core.load_config("scheduler")).models)
        assert main(["submit", "job.json"]) == 0
        assert capsys.readouterr().out.endswith(": done, 3/3 tasks, 3 written now\n")
        assert main(["submit", "job.json", "--slice-seconds", "30"]) == 2
        assert "--slice-seconds: slice_seconds must exceed" in capsys.readouterr().err


# --- the README's example -----------------------------------------------------------------------


def readme_python_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## From Python", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readmes_python_example_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no ./config: the config is the one below
    monkeypatch.setenv("SOSW_CONFIG_JSON", json.dumps({"labourers": [{"id": "example_worker"}]}))
    with mock_aws(config={"lambda": {"use_docker": False}}):
        create_tables(open_store(sosw_core.load_config("scheduler")).models)
        deploy_function("sosw-core-dev-scheduler")
        exec(compile(readme_python_example(), "README.md", "exec"), {})  # noqa: S102 - our own doc
    sent, ingested = capsys.readouterr().out.splitlines()
    assert sent.endswith(" 1 202")  # job id, tasks, status
    assert ingested.endswith(" done 1")  # job id, state, tasks written

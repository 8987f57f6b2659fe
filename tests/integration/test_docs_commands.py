"""Every command shown in README.md and docs/*.md runs, and exits as the doc says.

Commands are found by :mod:`tests.docs_commands` (fenced ``console`` blocks, ``$ `` lines).
Each doc's commands run in order in a shell (``bash -o pipefail -c``), from the repository root, with
``.venv/bin`` first on ``PATH`` and, as the target, this session's DynamoDB Local:

* ``SOSW_DYNAMODB_ENDPOINT`` is its endpoint (the CLI and the config loader both read it);
* ``SOSW_TASKS_TABLE`` / ``SOSW_JOBS_TABLE`` name fresh tables, created before the doc's first
  command and dropped after its last, so a doc's commands see each other's work and nothing else.

A command that cannot run here is in :data:`NOT_RUN` with the reason; one that runs at a smaller
size is in :data:`RUN_INSTEAD`. Both lists must match the docs: a listed command that no doc
shows any more fails the test, so the lists cannot rot. ``pytest -rP`` shows how long each
command took.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store
from tests.docs_commands import DocCommand, doc_files, find_commands, find_shell_blocks, run_command
from tests.support import make_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# A guard against a command that hangs (waiting for input, a server that never stops), not a
# speed check: commands are kept small (see RUN_INSTEAD) and their durations are printed.
COMMAND_TIMEOUT = 180.0

AWS = "needs an AWS account: creates or updates real resources"

# Shown in the docs, not run here. Keys are the command exactly as find_commands reads it
# (continuation lines joined with one space).
NOT_RUN: dict[str, str] = {
    # README.md
    "make test": "runs the whole suite, this test included",
    # docs/benchmarks.md
    ".venv/bin/python -m bench.harness": "the full benchmark takes ~13 minutes",
    ".venv/bin/python -m bench.report": "rewrites bench/results.json and docs/benchmarks.md",
    # docs/deploying.md
    "sosw-core deploy --stage dev --bucket my-artifacts": AWS,
    "make deploy STAGE=dev BUCKET=my-artifacts": AWS,
    "sosw-core deploy --smoke --stage smoke --bucket my-artifacts --region eu-west-1": AWS,
    'sosw-core deploy --stage dev --bucket my-artifacts --parameter ConfigDocument="$(cat config/dev.json)"': AWS,
    "aws cloudformation deploy --stack-name sosw-core-dev-example-worker "
    "--template-file cloudformation/example-worker.yaml --capabilities CAPABILITY_IAM "
    "--parameter-overrides CoreStackName=sosw-core-dev CodeBucket=my-artifacts "
    "FunctionKey=sosw-core/dev/functions-SHA256.zip": AWS,
    "sosw-core deploy --stage dev --bucket my-artifacts --parameter "
    "LabourerFunctionArns=arn:aws:lambda:us-east-1:123456789012:function:sosw-core-dev-example-worker "
    '--parameter ConfigDocument="$(cat config/dev.json)"': AWS,
    'SOSW_CONFIG_JSON="$(cat config/dev.json)" sosw-core submit job.json --async-lambda '
    "sosw-core-dev-scheduler": AWS,
    # docs/writing-a-worker.md
    "pytest -q tests/unit/test_example_worker.py": "part of make test; not run a second time",
    # docs/running-locally.md
    "sosw-core local up --config examples/local": "runs until Ctrl-C (tests/integration/test_cli_local.py runs it and stops it with SIGINT)",
    "sosw-core status --config examples/local --watch 2": "refreshes until Ctrl-C",
}

# Shown in the docs, run here in a smaller form: doc command -> (command run, why).
RUN_INSTEAD: dict[str, tuple[str, str]] = {
    "make run": ('make run DEMO_ARGS="--tasks 100 --tick 0.5"',
                 "the full demo is ~3,000 tasks (~75 s on a quiet machine); the same target, smaller "
                 "(tests/integration/test_demo.py checks the demo's outcome)"),
}

DOC_COMMANDS = find_commands(ROOT)
DOC_PATHS = [path.relative_to(ROOT).as_posix() for path in doc_files(ROOT)]


def shell_environment(endpoint: str, tasks_table: str, jobs_table: str) -> dict[str, str]:
    env = dict(os.environ)  # the AWS-free credentials of conftest's autouse fixture are in here
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SOSW_DYNAMODB_ENDPOINT"] = endpoint
    env["SOSW_TASKS_TABLE"] = tasks_table
    env["SOSW_JOBS_TABLE"] = jobs_table
    env.pop("SOSW_CONFIG_JSON", None)
    env.pop("SOSW_CONFIG_SSM_PARAMETER", None)
    return env


def run_doc_command(command: DocCommand, env: dict[str, str]) -> str | None:
    """Run one doc command from the repository root (its RUN_INSTEAD form if it has one)."""
    return run_command(command, env, cwd=ROOT, timeout=COMMAND_TIMEOUT,
                       text=RUN_INSTEAD.get(command.command, (command.command, ""))[0])


@pytest.mark.parametrize("doc", DOC_PATHS)
def test_every_command_in_the_doc_runs(doc, dynamodb_local):
    commands = [c for c in DOC_COMMANDS if c.path == doc and c.command not in NOT_RUN]
    if not commands:
        pytest.skip(f"{doc} shows no command that runs here")
    config = make_config(dynamodb_local)
    store = open_store(config)
    create_tables(store.models)
    env = shell_environment(dynamodb_local, config.tables.tasks, config.tables.jobs)
    failures = []
    try:
        for command in commands:
            started = time.monotonic()
            problem = run_doc_command(command, env)
            print(f"{time.monotonic() - started:6.1f} s  {command.where}  {command.command[:80]}")
            if problem is not None:
                failures.append(problem)
    finally:
        delete_tables(store.models)
    assert not failures, "\n\n".join(failures)


def test_every_exception_is_still_shown_in_a_doc():
    shown = {c.command for c in DOC_COMMANDS}
    stale = sorted(set(NOT_RUN) - shown) + sorted(set(RUN_INSTEAD) - shown)
    assert not stale, f"listed in the test but shown in no doc any more, remove them: {stale}"


def test_commands_are_shown_only_in_console_blocks():
    """A command in a ```sh block would escape this test: the convention is ```console + `$ `."""
    assert not find_shell_blocks(ROOT), (
        "use ```console blocks with '$ ' prompts for commands: " + ", ".join(find_shell_blocks(ROOT)))


def test_the_docs_show_commands():
    """If the finder broke, every other test here would pass vacuously."""
    assert len(DOC_COMMANDS) >= 10, [c.where for c in DOC_COMMANDS]

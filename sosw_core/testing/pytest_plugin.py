"""pytest fixtures for testing your sosw-core workers without AWS.

Enable it in your top-level ``conftest.py`` (or in a test module)::

    pytest_plugins = ["sosw_core.testing.pytest_plugin"]

then::

    def test_sums(sosw_harness):
        sosw_harness.run(SumWorker, {"numbers": [1, 2]}).assert_completed({"sum": 3})

Fixtures (each documented below): ``sosw_aws_env``, ``sosw_labourers``, ``sosw_config``,
``sosw_backend_name``, ``sosw_dynamodb_local``, ``sosw_backend``, ``sosw_harness``.

Choosing the backend (first that applies): the ``sosw_backend_name`` fixture if you override or
parametrize it; a ``@pytest.mark.sosw_backend("dynamodb-local")`` marker; the command-line
option ``--sosw-backend``; the ini option ``sosw_backend``; else ``memory`` (the in-memory
store: no moto, no Java). ``moto`` needs moto installed (the ``test`` extra); it is imported only
when chosen. Command-line and ini options and the marker need the plugin enabled in the
top-level conftest (pytest reads options and markers before it imports test modules).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

from sosw_core.config.model import LabourerConfig, SoswConfig
from sosw_core.testing.backends import (
    BACKENDS,
    DYNAMODB_LOCAL,
    FAKE_AWS_ENV,
    MEMORY,
    TEST_LABOURER,
    UNSET_AWS_ENV,
    Backend,
    BackendError,
    base_config,
    check_name,
    open_backend,
)
from sosw_core.testing.harness import WorkerHarness

ENDPOINT_ENV = "SOSW_TEST_DYNAMODB_ENDPOINT"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sosw-core", "sosw-core worker test kit")
    group.addoption("--sosw-backend", choices=BACKENDS, default=None,
                    help="where sosw_backend/sosw_harness keep tasks: memory (default), moto or "
                         "dynamodb-local")
    group.addoption("--sosw-dynamodb-endpoint", default=None, metavar="URL",
                    help=f"use this running DynamoDB Local instead of starting one (or set {ENDPOINT_ENV})")
    parser.addini("sosw_backend", "default backend of the sosw fixtures: memory, moto or dynamodb-local",
                  default=MEMORY)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sosw_backend(name): run this test's sosw fixtures on 'memory', "
                                       "'moto' or 'dynamodb-local'")


@pytest.fixture
def sosw_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials and region (``us-east-1``) for the test, and no profile: a client
    that escaped the mocks could not authenticate against AWS."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in UNSET_AWS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sosw_labourers() -> Sequence[LabourerConfig | str]:
    """The labourers the test config holds: override it with your own ``LabourerConfig`` s (or
    ids). The default is one labourer ``"worker"`` with a 60 s lease, 3 attempts and an exact
    backoff of 10 s doubling (see :func:`sosw_core.testing.backends.labourer_config`)."""
    return (TEST_LABOURER,)


@pytest.fixture
def sosw_config(sosw_labourers: Sequence[LabourerConfig | str]) -> SoswConfig:
    """The config the backend starts from, built from ``sosw_labourers``. Override it to test
    with your real config, e.g. ``return load_config("worker_assistant")``; the backend
    replaces its table names and DynamoDB endpoint."""
    return base_config(sosw_labourers)


@pytest.fixture
def sosw_backend_name(request: pytest.FixtureRequest) -> str:
    """``"memory"``, ``"moto"`` or ``"dynamodb-local"``: the marker, ``--sosw-backend``, ini
    ``sosw_backend``, else memory. Override or parametrize it to choose in code::

        @pytest.mark.parametrize("sosw_backend_name", ["memory", "dynamodb-local"])
        def test_on_both(sosw_harness): ...
    """
    marker = request.node.get_closest_marker("sosw_backend")
    if marker is not None:
        if len(marker.args) != 1:
            raise BackendError("sosw_backend marker: takes one backend name, e.g. sosw_backend('moto')")
        name = marker.args[0]
    else:
        name = request.config.getoption("sosw_backend", default=None) or _ini_backend(request.config)
    return check_name(name)


def _ini_backend(config: pytest.Config) -> str:
    try:
        return str(config.getini("sosw_backend") or MEMORY)
    except ValueError:  # the plugin was registered after the ini options were read
        return MEMORY


@pytest.fixture(scope="session")
def sosw_dynamodb_local(request: pytest.FixtureRequest) -> Iterator[str]:
    """The endpoint of a DynamoDB Local shared by the session: ``--sosw-dynamodb-endpoint`` or
    ``$SOSW_TEST_DYNAMODB_ENDPOINT`` if given, else one started on a free port (fetched once
    into ``~/.cache/sosw-core``; needs Java) and stopped when the session ends. Started only if
    a test uses the dynamodb-local backend."""
    endpoint = request.config.getoption("sosw_dynamodb_endpoint", default=None) or os.environ.get(ENDPOINT_ENV)
    if endpoint:
        yield endpoint
        return
    from sosw_core.local.dynamodb_local import start

    with start() as ddb:
        yield ddb.endpoint


@pytest.fixture
def sosw_backend(request: pytest.FixtureRequest, sosw_aws_env: None, sosw_config: SoswConfig,
                 sosw_backend_name: str) -> Iterator[Backend]:
    """A :class:`~sosw_core.testing.backends.Backend` (``.store``, ``.config``, ``.name``) with
    fresh tables for this test: in memory, in moto (inside ``mock_aws``) or in the session's
    DynamoDB Local (tables dropped after the test)."""
    name = check_name(sosw_backend_name)
    endpoint = request.getfixturevalue("sosw_dynamodb_local") if name == DYNAMODB_LOCAL else None
    with open_backend(name, sosw_config, endpoint=endpoint) as backend:
        yield backend


@pytest.fixture
def sosw_harness(sosw_backend: Backend) -> WorkerHarness:
    """A :class:`~sosw_core.testing.harness.WorkerHarness` on ``sosw_backend``: ``run`` a worker
    on a payload, ``retry``, ``redeliver``, ``expire``; its ``clock`` starts at the real time
    and moves only when advanced."""
    return WorkerHarness.from_backend(sosw_backend)

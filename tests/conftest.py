"""Shared fixtures: AWS-free environment, DynamoDB Local for the session, tables per test.

The project's own pytest plugin (:mod:`sosw_core.testing.pytest_plugin`, what users enable for
their workers) is registered here for every test: its fake AWS environment, its session's
DynamoDB Local and its backends are the ones the fixtures below use.

Tiers: ``tests/unit`` needs nothing (memory or moto at most), ``tests/integration`` needs
DynamoDB Local (started on a free port, or taken from ``SOSW_TEST_DYNAMODB_ENDPOINT``), and
``tests/contract`` runs the same suite on memory, moto and DynamoDB Local.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from sosw_core.adapters.dynamodb import Store
from sosw_core.adapters.memory import MemoryStore
from sosw_core.config import SoswConfig
from sosw_core.testing import DYNAMODB_LOCAL, MEMORY, MOTO, Backend, open_backend
from tests.support import make_config

pytest_plugins = ["sosw_core.testing.pytest_plugin"]

# Hypothesis outside tests/fuzz (which loads its own profiles): no deadline and no health check
# that times the machine, so a loaded CI box cannot fail a property test that holds. Hypothesis's
# default 200 ms deadline fails an example that a preempted thread merely made slow.
settings.register_profile("suite", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])


@pytest.hookimpl(tryfirst=True)  # before tests/fuzz/conftest.py's, whose profile then wins there
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("suite")
    config.addinivalue_line("markers", "not_on_moto(reason): any_store skips its moto run (moto does "
                                       "not emulate what the test checks; the reason says what)")


@pytest.fixture(autouse=True)
def _no_real_aws(sosw_aws_env: None) -> None:
    """Nothing in the tests may reach AWS: the plugin's fake credentials and region, no profiles."""


@pytest.fixture(scope="session")
def dynamodb_local(sosw_dynamodb_local: str) -> str:
    """The plugin's DynamoDB Local of the session (``SOSW_TEST_DYNAMODB_ENDPOINT``, or started)."""
    return sosw_dynamodb_local


@pytest.fixture
def local_backend(dynamodb_local: str) -> Iterator[Backend]:
    """Fresh tables on the session's DynamoDB Local (dropped afterwards), through the kit."""
    with open_backend(DYNAMODB_LOCAL, make_config(dynamodb_local), endpoint=dynamodb_local) as backend:
        yield backend


@pytest.fixture
def local_config(local_backend: Backend) -> SoswConfig:
    """A config on DynamoDB Local naming fresh tables."""
    return local_backend.config


@pytest.fixture
def local_store(local_backend: Backend) -> Store | MemoryStore:
    return local_backend.store


STORE_BACKENDS = [MEMORY, MOTO, pytest.param(DYNAMODB_LOCAL, marks=pytest.mark.integration)]


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request: pytest.FixtureRequest) -> Iterator[Store | MemoryStore]:
    """The same store API on memory, moto and DynamoDB Local: one contract, three backends.

    A test marked ``not_on_moto(reason=...)`` is skipped on moto with that reason.
    """
    marker = request.node.get_closest_marker("not_on_moto")
    if marker is not None and request.param == MOTO:
        pytest.skip(f"moto: {marker.kwargs['reason']}")
    endpoint = request.getfixturevalue("dynamodb_local") if request.param == DYNAMODB_LOCAL else None
    with open_backend(request.param, make_config(None), endpoint=endpoint) as backend:
        yield backend.store

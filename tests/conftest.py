"""Shared fixtures: AWS-free environment, DynamoDB Local for the session, tables per test.

Tiers: ``tests/unit`` needs nothing (moto at most), ``tests/integration`` needs DynamoDB Local
(started here on a free port, or taken from ``SOSW_TEST_DYNAMODB_ENDPOINT``), and
``tests/contract`` runs the same suite on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from sosw_core.adapters.dynamodb import Store, create_tables, delete_tables, open_store
from sosw_core.config import SoswConfig
from sosw_core.local.dynamodb_local import start
from tests.support import make_config

# Hypothesis outside tests/fuzz (which loads its own profiles): no deadline and no health check
# that times the machine, so a loaded CI box cannot fail a property test that holds. Hypothesis's
# default 200 ms deadline fails an example that a preempted thread merely made slow.
settings.register_profile("suite", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])


@pytest.hookimpl(tryfirst=True)  # before tests/fuzz/conftest.py's, whose profile then wins there
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("suite")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    """Nothing in the tests may reach AWS: fake credentials, a fixed region, no profiles."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    endpoint = os.environ.get("SOSW_TEST_DYNAMODB_ENDPOINT")
    if endpoint:
        yield endpoint
        return
    with start() as ddb:
        yield ddb.endpoint


@pytest.fixture
def local_config(dynamodb_local) -> Iterator[SoswConfig]:
    """A config on DynamoDB Local with fresh tables (dropped afterwards)."""
    config = make_config(dynamodb_local)
    store = open_store(config)
    create_tables(store.models)
    yield config
    delete_tables(store.models)


@pytest.fixture
def local_store(local_config) -> Store:
    return open_store(local_config)


@pytest.fixture(params=["moto", pytest.param("dynamodb_local", marks=pytest.mark.integration)])
def any_store(request) -> Iterator[Store]:
    """The same store on moto and on DynamoDB Local: one contract, two backends."""
    if request.param == "moto":
        with mock_aws():
            store = open_store(make_config(None))
            create_tables(store.models)
            yield store
    else:
        store = open_store(make_config(request.getfixturevalue("dynamodb_local")))
        create_tables(store.models)
        yield store
        delete_tables(store.models)

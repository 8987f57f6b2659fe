"""Hypothesis profiles for the fuzz tests, and the moto tables they share.

* ``ci`` (default): a fixed number of examples per test, derandomized (the same examples on
  every run, no example database), so ``make test`` is reproducible; the folder runs in < 60 s.
* ``chaos``: at least 10,000 examples per job fuzz test, random seeds, failures saved in
  ``.hypothesis/`` and replayed first on the next run.

Pick one with ``SOSW_FUZZ_PROFILE=chaos`` or pytest's ``--hypothesis-profile chaos``. Both
profiles have no deadline (a moto or DynamoDB Local round trip is slow now and then) and
suppress the health checks that depend on the machine's speed, so no run is flaky.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from sosw_core.adapters.dynamodb import create_tables, open_store
from tests.fuzz.profiles import CHAOS, CI, PROFILE_ENV
from tests.fuzz.world import LABOURERS
from tests.support import make_config

SPEED_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                HealthCheck.large_base_example]

settings.register_profile(CI, max_examples=100, deadline=None, derandomize=True, database=None,
                          suppress_health_check=SPEED_CHECKS, print_blob=True)
settings.register_profile(CHAOS, max_examples=10_000, deadline=None,
                          suppress_health_check=SPEED_CHECKS, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile(os.environ.get(PROFILE_ENV, CI))


@pytest.fixture(scope="module")
def moto_world() -> Iterator[tuple]:
    """One moto deployment per module (creating clients is the slow part): config and store.

    Hypothesis runs many examples in one test call, so the tables live longer than a test:
    each example uses its own task ids and compares rows before and after itself.
    """
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                            "AWS_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            config = make_config(None, LABOURERS)
            store = open_store(config)
            create_tables(store.models)
            yield config, store

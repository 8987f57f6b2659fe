"""A few forged and broken events against DynamoDB Local (its validation is stricter than moto's)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store
from sosw_core.clock import FixedClock
from sosw_core.wiring import build_assistant
from tests.fuzz.cases import broken_worker_case, forged_report_case
from tests.fuzz.profiles import examples
from tests.fuzz.world import LABOURERS, T0, tasks_in_every_state
from tests.support import make_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(dynamodb_local):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        config = make_config(dynamodb_local, LABOURERS)
        store = open_store(config)
        create_tables(store.models)
        tasks = tasks_in_every_state(store, config, "local")
        yield store, tasks, build_assistant(config, store, clock=FixedClock(T0 + 30), handoff=False), \
            tuple(lab.id for lab in config.labourers)
        delete_tables(store.models)


@examples(ci=30, chaos=3_000)
@given(data=st.data())
def test_forged_reports_change_nothing_on_dynamodb_local(world, data):
    forged_report_case(world, data)


@examples(ci=15, chaos=2_000)
@given(data=st.data())
def test_broken_worker_events_change_nothing_on_dynamodb_local(world, data):
    broken_worker_case(world, data)

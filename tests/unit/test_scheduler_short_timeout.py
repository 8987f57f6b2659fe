"""A Scheduler with a short timeout (the template allows 10 s) ingests: its hand-over margin
scales with the invocation's time (issue 14, finding 7)."""

from __future__ import annotations

import pytest

from sosw_core.clock import FixedClock
from sosw_core.config import SchedulerConfig
from sosw_core.domain.job_record import JobState
from sosw_core.services.ingest import HAND_OVER_FLOOR_SECONDS, hand_over_margin
from sosw_core.wiring import build_scheduler, build_store
from tests.fakes import RecordingInvoker
from tests.support import count_rows, labourer, make_config

START = 1_699_920_000.0 + 3_600


class Timeout:
    """A Lambda context of ``seconds`` whose clock moves ``per_read`` seconds at every read (the
    time a page takes)."""

    def __init__(self, seconds: float, per_read: float = 0.5):
        self.left, self.per_read = seconds, per_read

    def get_remaining_time_in_millis(self) -> int:
        left, self.left = self.left, max(0.0, self.left - self.per_read)
        return int(left * 1000)


@pytest.mark.parametrize(("seconds_left", "margin"), [(900, 30), (120, 30), (30, 7.5), (10, 5), (6, 3)])
def test_the_margin_scales_with_the_time_and_never_takes_half_of_it(seconds_left, margin):
    assert hand_over_margin(30.0, seconds_left) == margin
    assert hand_over_margin(0.0, seconds_left) == 0.0  # a configured margin below the floor is kept
    assert hand_over_margin(30.0, seconds_left) <= max(HAND_OVER_FLOOR_SECONDS, seconds_left / 2)


@pytest.mark.parametrize("timeout", [10, 20, 30])
def test_a_short_timeout_scheduler_ingests_a_job_through_its_continuations(timeout):
    config = make_config(None, labourers=(labourer("w"),),
                         scheduler=SchedulerConfig(job_schema_variants=(("default", ("section",)),),
                                                   time_margin_seconds=30))  # the default margin
    store = build_store(config, "memory")
    invoker = RecordingInvoker()
    scheduler = build_scheduler(config, store, invoker=invoker, clock=FixedClock(START), page_size=10,
                                writers=1)
    job = {"lambda_name": "w", "sections": [f"s{i}" for i in range(1000)], "isolate_sections": True}
    result = scheduler.handle(job, Timeout(timeout))
    assert result["state"] == "continued" and result["cursor"] > 0  # the first invocation wrote
    invocations = 1
    while result["state"] == "continued":
        [(function, event)] = invoker.take()
        assert function == config.scheduler_function
        result = scheduler.handle(event, Timeout(timeout))
        invocations += 1
        assert result["written"] > 0, f"invocation {invocations} wrote nothing"
    assert result["state"] == "done" and count_rows(store) == 1000
    assert store.jobs.get(result["job_id"]).state is JobState.DONE
    # each invocation used its time down to the margin: pages of 0.5 s until that much was left
    expected_pages = int((timeout - hand_over_margin(30, timeout)) / 0.5)
    assert invocations <= -(-100 // max(1, expected_pages - 2))  # 100 pages

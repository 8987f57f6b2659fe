"""The chaos run (issue 8) at a reduced size on DynamoDB Local, and its judge.

``test_reduced_chaos_run`` runs the real engine: every failure counter must be 0, and every
fault must really have happened (throttles in every component, each worker behaviour, the
Scheduler killed mid-ingest and taken over), so the test cannot pass on a quiet run.

The other tests need no DynamoDB: they feed the audit rows and ledger runs with one planted
failure each and check that the counter named for it (and only it) goes up, so a counter
that is 0 in the run means something.
"""

from __future__ import annotations

import threading

import pytest

from devtools.chaos import ChaosOptions, ChaosRun
from devtools.chaos.audit import FAILURE_COUNTERS, Planned, Row, audit
from devtools.chaos.behaviours import Behaviour, Mix, choose
from devtools.chaos.ledger import Answer, Ledger, Run, peak_concurrency
from devtools.chaos.scheduler import DyingBatch, Killed, KillSwitch

COMPLETE = "mark_task_as_completed"


# -- the run ---------------------------------------------------------------------------------
@pytest.mark.integration
def test_reduced_chaos_run(dynamodb_local):
    # killed late in its job, so that little is left to run once the dead invocation's lease
    # (its time limit + 30 s) has run out and the re-sent job is taken over; the time-out only
    # guards against a hang (~50 s on a quiet machine, about the same under load)
    result = ChaosRun(ChaosOptions(tasks=400, endpoint_url=dynamodb_local, timeout_seconds=600,
                                   kill_fraction=0.7)).run()
    failures = {name: result[name] for name in FAILURE_COUNTERS}
    assert failures == dict.fromkeys(FAILURE_COUNTERS, 0), result.get("evidence")
    assert result["finished"] and result["ok"]
    assert result["tasks"] == 400 and result["completed"] + result["dead"] == 400
    assert result["dead"] > 0 and result["alerts"] == result["dead"]
    for labourer in result["labourers"].values():
        assert 0 < labourer["peak"] <= labourer["max"]

    # the faults happened, in every component
    assert all(n > 0 for n in result["throttles_by_component"].values()), result["throttles_by_component"]
    assert result["throttles_injected"] > 0.02 * result["dynamodb_requests_seen"] > 50  # 5 % asked
    workers = result["workers"]
    assert set(workers["runs_by_behaviour"]) == {b.value for b in Behaviour}
    assert workers["hangs_killed"] == workers["runs_by_behaviour"]["hang"] > 0
    assert workers["crashes_silent"] > 0 and workers["crash_reports"].get("applied", 0) > 0
    assert workers["duplicate_deliveries"].get("duplicate", 0) > 0
    assert workers["late_reports_after_lease"] > 0
    assert workers["unfinished_runs"] == 0

    ingest = result["ingest"]
    assert ingest["killed"] and ingest["taken_over"], ingest
    assert 0 < ingest["rows_in_table_after_kill"] < ingest["killed_job_total"]
    # counted right after the kill: writes still in flight (throttled, retrying) may land later
    assert ingest["rows_in_table_after_kill"] <= ingest["rows_sent_before_kill"]
    assert ingest["resends_while_leased"] >= 1  # the dead invocation's lease held the job first


# -- the judge -------------------------------------------------------------------------------
LIMITS = {"w": 2}


def planned(*ids: str) -> dict[str, Planned]:
    return {t: Planned(t, "w", "job", f'{{"items":["{t}"]}}') for t in ids}


def row(task_id: str, state: str = "completed", *, events=None, token: str = "tok", payload=None) -> Row:
    if events is None:
        events = ((("created", 0), ("claimed", 1), ("completed", 1))) if state == "completed" else (
            ("created", 0), ("claimed", 1), ("failed", 1), ("dead", 1))
    return Row(task_id, "w", "job", payload or f'{{"items":["{task_id}"]}}', state, token, tuple(events))


def run(seq: int, task_id: str, *, attempt: int = 1, start: float = 0.0, end: float = 1.0,
        token: str = "tok", answers=((COMPLETE, "applied"),)) -> Run:
    return Run(seq, task_id, "w", attempt, token, "ok", 1000.0 + start, start, start + 10, None,
               end=end, answers=tuple(Answer(a, o, 0.0) for a, o in answers))


def verdict(plan, rows, runs, alerts=()):
    return audit(plan, rows, runs, alerts, LIMITS).counters


def clean():
    plan = planned("a", "b")
    rows = [row("a"), row("b", "dead")]
    runs = [run(0, "a"), run(1, "b", answers=(("mark_task_as_failed", "applied"),))]
    return plan, rows, runs, ["b"]


def only(counters: dict[str, int], name: str, value: int = 1) -> None:
    assert counters == {**dict.fromkeys(FAILURE_COUNTERS, 0), name: value}, counters


def test_a_clean_run_has_no_failures():
    assert verdict(*clean()) == dict.fromkeys(FAILURE_COUNTERS, 0)


def test_lost_counts_missing_and_open_tasks():
    plan, rows, runs, alerts = clean()
    only(verdict({**plan, **planned("c")}, rows, runs, alerts), "lost")
    opened = [row("a", "retrying", events=(("created", 0),)), rows[1]]
    counters = verdict(plan, opened, [runs[1]], alerts)
    assert counters["lost"] == 1


def test_duplicated_counts_strangers_same_work_and_recreated_ids():
    plan, rows, runs, alerts = clean()
    only(verdict(plan, [*rows, row("x")], runs, alerts), "duplicated")  # not in the plan
    twin = row("x", payload=rows[0].payload)
    assert verdict(plan, [*rows, twin], runs, alerts)["duplicated"] == 2  # stranger + same work
    only(verdict(plan, rows, [run(0, "a", token="old"), runs[1]], alerts), "duplicated")
    reborn = row("a", events=(("created", 0), ("claimed", 1), ("created", 0), ("completed", 1)))
    only(verdict(plan, [reborn, rows[1]], runs, alerts), "duplicated")


def test_reruns_after_completion_from_history_and_from_ledger():
    plan, rows, runs, alerts = clean()
    later_claim = row("a", events=(("created", 0), ("claimed", 1), ("completed", 1), ("claimed", 2)))
    only(verdict(plan, [later_claim, rows[1]], runs, alerts), "reruns_after_completion")
    unclaimed = [*runs, run(2, "a", attempt=2, start=5, end=6, answers=())]
    only(verdict(plan, rows, unclaimed, alerts), "reruns_after_completion")


def test_concurrency_over_the_limit_is_measured_on_the_work():
    assert peak_concurrency([(0, 2), (1, 3), (2, 4)]) == 2  # an end and a start at 2: not overlapping
    plan = planned("a", "b", "c")
    rows = [row("a"), row("b"), row("c")]
    runs = [run(0, "a", start=0, end=5), run(1, "b", start=1, end=5), run(2, "c", start=2, end=5)]
    only(verdict(plan, rows, runs), "max_running_over_limit")
    assert audit(plan, rows, runs, (), LIMITS).evidence["max_running_over_limit"] == ["a", "b", "c"]


def test_completion_accounting_and_closing_events():
    plan, rows, runs, alerts = clean()
    only(verdict(plan, rows, [run(0, "a", answers=((COMPLETE, "duplicate"),)), runs[1]], alerts),
         "completion_accounting")
    twice = row("a", events=(("created", 0), ("claimed", 1), ("completed", 1), ("completed", 1)))
    only(verdict(plan, [twice, rows[1]], runs, alerts), "closed_twice")


def test_alerts_exactly_once_per_dead_task():
    plan, rows, runs, _ = clean()
    only(verdict(plan, rows, runs, []), "alert_errors")
    only(verdict(plan, rows, runs, ["b", "b"]), "alert_errors")
    only(verdict(plan, rows, runs, ["b", "a"]), "alert_errors")


# -- the pieces the run is made of -------------------------------------------------------------
def test_behaviours_are_reproducible_vary_per_attempt_and_follow_the_mix():
    mix = Mix()
    draws = [choose(mix, 7, f"t{i}", 1) for i in range(10_000)]
    assert draws == [choose(mix, 7, f"t{i}", 1) for i in range(10_000)]
    shares = {b: draws.count(b) / len(draws) for b in Behaviour}
    assert abs(shares[Behaviour.HANG] - 0.10 * 0.99) < 0.01
    assert abs(shares[Behaviour.CRASH_REPORTED] - (0.05 * 0.99 + 0.01)) < 0.01
    assert any(choose(mix, 7, f"t{i}", 1) != choose(mix, 7, f"t{i}", 2) for i in range(100))
    with pytest.raises(ValueError, match="add up"):
        Mix(hang=0.9, crash_reported=0.2)


def test_ledger_ends_a_killed_run_at_its_deadline():
    ledger = Ledger()
    seq = ledger.begin(task_id="a", labourer_id="w", attempt=1, token="t", behaviour="hang",
                       remaining_seconds=0.0, lease_end=None)
    ledger.end(seq, killed=True)
    got = ledger.get(seq)
    assert got.killed and got.end == got.start == got.deadline
    assert ledger.running() == {"w": 0}


class FakeBatch:
    store = object()

    def __init__(self) -> None:
        self.written: list[str] = []
        self._lock = threading.Lock()

    def existing_ids(self, ids):
        return set()

    def write_rows(self, rows):
        with self._lock:
            self.written += [r["task_id"]["S"] for r in rows]


def item(job_id: str, n: int) -> dict:
    return {"task_id": {"S": f"{job_id}_{n:07d}"}, "job_id": {"S": job_id}}


def test_the_kill_switch_kills_one_invocation_mid_page_and_spares_the_next():
    real, switch = FakeBatch(), KillSwitch("j", kill_after=60)
    first = DyingBatch(real, switch)
    first.write_rows([item("j", n) for n in range(25)])
    first.write_rows([item("other", n) for n in range(25)])  # another job's rows do not count
    first.write_rows([item("j", n) for n in range(25, 50)])
    with pytest.raises(Killed):
        first.write_rows([item("j", n) for n in range(50, 75)])  # would pass 60: dies instead
    with pytest.raises(Killed):
        first.existing_ids(["j_0000075"])  # the dead invocation sends nothing more
    assert switch.fired.is_set() and switch.sent == 50
    second = DyingBatch(real, switch)  # the re-sent job's invocation
    second.write_rows([item("j", n) for n in range(50, 75)])
    assert len(real.written) == 100

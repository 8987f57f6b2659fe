"""Reports → metric values (pure), and the EMF they become matches what the template reads.

The drift test parses the EMF records the mapping produces and the dashboard and alarms of
``cloudformation/sosw-core.yaml``: every (metric, dimensions) written is read, everything read
is written, and the units in widget titles are the units written.
"""

from __future__ import annotations

import json
import re

import pytest
from cfnlint.decode.cfn_yaml import load as load_cfn_yaml

from sosw_core.adapters import metrics
from sosw_core.deploy.package import source_root
from sosw_core.domain.dispatch import StopReason
from sosw_core.domain.events import Action
from sosw_core.services.metrics_map import (
    LabourerFigures,
    component_record,
    dispatch_errors,
    from_dispatch,
    from_report,
    from_sweep,
    labourer_records,
    queue_seen_empty,
    refusal_records,
    sweep_errors,
)
from sosw_core.services.orchestrator import DispatchRecord
from sosw_core.services.scavenger import LabourerSweep, SweepReport

NOW = 1_700_000_000.0
TEMPLATE = source_root() / "cloudformation" / "sosw-core.yaml"


def record(**kwargs) -> DispatchRecord:
    base = dict(labourer_id="w", status=4, metric_values=(), running=2, desired=3, invoked=3,
                stopped_because=StopReason.DESIRED_REACHED, task_ids=("a", "b", "c"), waits=(0.5, 1.25, 2.0))
    base.update(kwargs)
    return DispatchRecord(**base)


def extracted(records: list[dict]) -> list[tuple[str, tuple[str, ...], str, object]]:
    """What CloudWatch makes of EMF records: (metric, dimension names, unit, value)."""
    out = []
    for rec in records:
        json.loads(json.dumps(rec))  # plain JSON
        for directive in rec["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == metrics.NAMESPACE
            for dims in directive["Dimensions"]:
                assert all(rec[d] for d in dims)
                for m in directive["Metrics"]:
                    out.append((m["Name"], tuple(dims), m["Unit"], rec[m["Name"]]))
    return out


# -- orchestrator -------------------------------------------------------------------------------
def test_dispatch_figures():
    figures = from_dispatch(record())
    assert figures == LabourerFigures("w", queued=None, running=5, invoked=3,
                                      latency_ms=(500.0, 1250.0, 2000.0))


def test_queue_seen_empty_means_depth_zero_for_free():
    empty = record(stopped_because=StopReason.QUEUE_EMPTY, running=None, invoked=0, task_ids=(), waits=())
    assert queue_seen_empty(empty)
    assert from_dispatch(empty) == LabourerFigures("w", queued=0, invoked=0)
    assert not queue_seen_empty(record(stopped_because=StopReason.QUEUE_EMPTY, error="X: y"))
    for reason in set(StopReason) - {StopReason.QUEUE_EMPTY}:
        assert from_dispatch(record(stopped_because=reason)).queued is None


def test_dispatch_errors_count_labourers_that_failed():
    assert dispatch_errors([record(), record(error="StoreUnavailable: x"), record(error="E: y")]) == 2


def test_latency_samples_go_in_arrays_of_at_most_100():
    waits = tuple(i / 1000 for i in range(250))
    lines = labourer_records(from_dispatch(record(invoked=250, waits=waits)), NOW)
    assert len(lines) == 3
    got = extracted(lines)
    samples = [v for name, _, _, v in got if name == metrics.DISPATCH_LATENCY]
    assert [len(s) for s in samples] == [100, 100, 50]
    assert [x for s in samples for x in s] == [float(i) for i in range(250)]
    assert {name for name, _, _, _ in extracted(lines[1:])} == {metrics.DISPATCH_LATENCY}
    assert sorted((n, v) for n, _, _, v in extracted(lines[:1]) if n != metrics.DISPATCH_LATENCY) == [
        (metrics.INVOKED, 250), (metrics.RUNNING, 252)]


# -- scavenger ----------------------------------------------------------------------------------
def test_sweep_figures_split_expired_into_failed_and_dead():
    report = SweepReport(due=7, expired=5, killed=2, requeued=2, labourers=(
        LabourerSweep("a", due=4, expired=4, killed=1), LabourerSweep("b", due=1, expired=1, killed=1),
        LabourerSweep("c", due=2, requeued=2)), errors=(("d", "E: x"),))
    assert from_sweep(report) == [LabourerFigures("a", failed=3, dead=1), LabourerFigures("b", failed=0, dead=1)]
    assert sweep_errors(report) == 1
    lines = [line for f in from_sweep(report) for line in labourer_records(f, NOW)]
    rolled = [(n, v) for n, dims, _, v in extracted(lines) if dims == ()]
    assert rolled == [(metrics.DEAD, 1), (metrics.DEAD, 1)]


# -- worker assistant ---------------------------------------------------------------------------
@pytest.mark.parametrize("action, response, expected", [
    (Action.COMPLETED, {"outcome": "applied", "state": "completed"}, LabourerFigures("x", completed=1)),
    (Action.COMPLETED, {"outcome": "applied", "state": "completed", "chained": 1},
     LabourerFigures("x", completed=1, invoked=1)),
    (Action.COMPLETED, {"outcome": "duplicate", "state": "completed"}, None),
    (Action.COMPLETED, {"outcome": "stale", "state": None}, None),
    (Action.FAILED, {"outcome": "applied", "state": "retrying"}, LabourerFigures("x", failed=1)),
    (Action.FAILED, {"outcome": "applied", "state": "dead"}, LabourerFigures("x", dead=1)),
    (Action.FAILED, {"outcome": "stale", "state": None}, None),
    (Action.HEARTBEAT, {"outcome": "applied", "state": "invoked"}, None),
])
def test_report_figures(action, response, expected):
    assert from_report({"action": action.value, "labourer_id": "x", **response}) == expected
    assert from_report({"action": action.value, "labourer_id": "x", "outcome": "refused", "state": None}) is None


def test_a_refusal_is_counted_per_known_labourer_and_rolled_up_for_the_alarm():
    got = sorted((n, dims, v) for n, dims, _, v in extracted(refusal_records("w", NOW)))
    assert got == [(metrics.REFUSED, (), 1), (metrics.REFUSED, (metrics.LABOURER_DIMENSION,), 1)]
    # an unknown labourer (unknown task, malformed report) never becomes a dimension value
    assert [(n, dims, v) for n, dims, _, v in extracted(refusal_records(None, NOW))] == [(metrics.REFUSED, (), 1)]


# -- records ------------------------------------------------------------------------------------
def test_component_record_rolls_errors_up():
    got = extracted([component_record("orchestrator", 1.5, 2, NOW)])
    assert sorted(got) == [
        (metrics.ERRORS, (), "Count", 2),
        (metrics.ERRORS, (metrics.COMPONENT_DIMENSION,), "Count", 2),
        (metrics.TICK_DURATION, (metrics.COMPONENT_DIMENSION,), "Seconds", 1.5)]


def test_figures_not_given_are_not_written():
    assert labourer_records(LabourerFigures("w"), NOW) == []
    [line] = labourer_records(LabourerFigures("w", completed=1), NOW)
    assert extracted([line]) == [(metrics.COMPLETED, (metrics.LABOURER_DIMENSION,), "Count", 1)]


# -- drift against cloudformation/sosw-core.yaml ------------------------------------------------
SEARCH = re.compile(r"SEARCH\('\{(\w+),(\w+)\} MetricName=\\?\"(\w+)\\?\"'")


def everything_written() -> set[tuple[str, tuple[str, ...], str]]:
    """Every (metric, dimension names, unit) the essentials can write."""
    full = LabourerFigures("w", queued=1, running=1, invoked=1, completed=1, failed=1, dead=1,
                           latency_ms=(1.0,), refused=1)
    lines = (labourer_records(full, NOW) + [component_record("scavenger", 0.1, 0, NOW)]
             + refusal_records(None, NOW))
    return {(name, dims, unit) for name, dims, unit, _ in extracted(lines)}


def template_reads() -> tuple[dict[tuple[str, tuple[str, ...]], str], set[tuple[str, tuple[str, ...]]]]:
    """Dashboard: (metric, dimensions) -> widget title; alarms: (metric, dimensions) on SoswCore."""
    template = load_cfn_yaml(str(TEMPLATE))
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x",
                             template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]))
    widgets: dict[tuple[str, tuple[str, ...]], str] = {}
    for widget in body["widgets"]:
        for match in SEARCH.finditer(json.dumps(widget["properties"]["metrics"])):
            namespace, dimension, name = match.groups()
            if namespace == metrics.NAMESPACE:
                widgets[(name, (dimension,))] = widget["properties"]["title"]
    alarms = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and props.get("Namespace") == metrics.NAMESPACE:
            alarms.add((props["MetricName"], tuple(d["Name"] for d in props.get("Dimensions", []))))
    return widgets, alarms


def test_dashboard_and_alarms_read_exactly_what_the_essentials_write():
    written = everything_written()
    widgets, alarms = template_reads()
    with_dimensions = {(name, dims) for name, dims, _ in written if dims}
    assert set(widgets) == with_dimensions  # each per-labourer/per-component metric has a widget
    assert alarms == {(name, ()) for name in metrics.ROLLED_UP}
    assert alarms <= {(name, dims) for name, dims, _ in written}  # the roll-ups the alarms need
    per_labourer = {name for name, dims, _ in written if dims == (metrics.LABOURER_DIMENSION,)}
    assert per_labourer == set(metrics.LABOURER_METRICS)


def test_widget_titles_state_the_units_written():
    units = {(name, dims): unit for name, dims, unit in everything_written()}
    widgets, _ = template_reads()
    suffix = {"Milliseconds": "(ms)", "Seconds": "(s)"}
    for key, title in widgets.items():
        unit = units[key]
        if unit in suffix:
            assert suffix[unit] in title, (key, title)
        else:
            assert "(ms)" not in title and "(s)" not in title, (key, title)
        assert unit in metrics.STANDARD_UNITS


def test_the_drift_check_notices_a_renamed_metric(monkeypatch):
    monkeypatch.setattr(metrics, "QUEUED", "QueueDepth")
    monkeypatch.setattr(metrics, "LABOURER_METRICS", ("QueueDepth", *metrics.LABOURER_METRICS[1:]))
    monkeypatch.setitem(metrics.UNITS, "QueueDepth", "Count")
    written = {(n, d) for n, d, _ in everything_written() if d}
    widgets, _ = template_reads()
    assert written != set(widgets)

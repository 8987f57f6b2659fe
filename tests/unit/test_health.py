"""Health math: the sosw 0.7 vectors, every operator, worst-metric-wins and desired invocations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sosw_core.domain.health
from sosw_core.config import Comparison, HealthMetric, config_from_dict
from sosw_core.domain.health import desired_invocations, labourer_status, metric_status

DEFAULT_COEFFICIENTS = (0.0, 0.0, 0.5, 0.75, 1.0)


def metric(comparison: str, feelings: dict[int, float], name: str = "m", **kw) -> HealthMetric:
    return HealthMetric(name=name, namespace="NS", metric_name=name, comparison=Comparison(comparison),
                        feelings=tuple(sorted(feelings.items())), **kw)


SOSW_LE = metric("le", {3: 50, 4: 25})


@pytest.mark.parametrize(("value", "status"), [(0, 4), (25, 4), (30, 3), (50, 3), (51, 0)])
def test_sosw_le_vectors(value, status):
    assert metric_status(SOSW_LE, value) == status


def test_sosw_le_vectors_hold_for_a_metric_loaded_from_json():
    config = config_from_dict({"labourers": [{"id": "w", "health_metrics": [{
        "name": "lag", "namespace": "NS", "metric_name": "Lag", "comparison": "le",
        "feelings": {"4": 25, "3": 50}}]}]})
    loaded = config.labourers[0].health_metrics[0]
    assert [metric_status(loaded, v) for v in (0, 25, 30, 50, 51)] == [4, 4, 3, 3, 0]


@pytest.mark.parametrize(("comparison", "feelings", "value", "status"), [
    ("lt", {3: 50, 4: 25}, 24.9, 4), ("lt", {3: 50, 4: 25}, 25, 3), ("lt", {3: 50, 4: 25}, 49.9, 3),
    ("lt", {3: 50, 4: 25}, 50, 0),
    ("gt", {2: 50, 4: 90}, 90.1, 4), ("gt", {2: 50, 4: 90}, 90, 2), ("gt", {2: 50, 4: 90}, 50.1, 2),
    ("gt", {2: 50, 4: 90}, 50, 0),
    ("ge", {2: 50, 4: 90}, 95, 4), ("ge", {2: 50, 4: 90}, 90, 4), ("ge", {2: 50, 4: 90}, 50, 2),
    ("ge", {2: 50, 4: 90}, 49.9, 0),
    ("le", {0: 1000, 1: 500, 2: 100, 3: 10, 4: 1}, 300, 1), ("le", {0: 1000}, 2000, 0),
])
def test_every_operator_reads_value_op_threshold(comparison, feelings, value, status):
    assert metric_status(metric(comparison, feelings), value) == status


def test_no_data_gives_the_configured_status():
    assert metric_status(metric("le", {4: 1}), None) == 4
    assert metric_status(metric("le", {4: 1}, no_data_status=2), None) == 2
    assert metric_status(metric("le", {4: 1}, no_data_status=0), 0.5) == 4


def test_the_worst_metric_wins_and_no_metrics_is_healthy():
    a, b = metric("le", {3: 50, 4: 25}, "a"), metric("ge", {1: 10, 4: 90}, "b")
    assert labourer_status([a, b], [10, 15]) == 1
    assert labourer_status([a, b], [30, 95]) == 3
    assert labourer_status([a, b], [None, None]) == 4
    assert labourer_status([], []) == 4


def test_sosw_desired_invocation_vectors():
    assert [desired_invocations(10, s, DEFAULT_COEFFICIENTS, 0) for s in range(5)] == [0, 0, 5, 7, 10]


@pytest.mark.parametrize(("max_", "status", "running", "desired"), [
    (10, 4, 3, 7), (10, 4, 10, 0), (10, 2, 9, 0), (10, 4, 25, 0), (0, 4, 0, 0), (3, 3, 0, 2), (1, 2, 0, 0),
])
def test_desired_subtracts_what_runs_and_never_goes_negative(max_, status, running, desired):
    assert desired_invocations(max_, status, DEFAULT_COEFFICIENTS, running) == desired


def test_a_status_outside_0_to_4_is_refused():
    with pytest.raises(ValueError):
        desired_invocations(10, 5, DEFAULT_COEFFICIENTS, 0)
    with pytest.raises(ValueError):
        desired_invocations(10, -1, DEFAULT_COEFFICIENTS, 0)


feelings_strategy = st.lists(st.integers(-1000, 1000), min_size=1, max_size=5, unique=True)


@settings(deadline=None)  # parsing a config is fast, but the shared test machine is not
@given(thresholds=feelings_strategy, comparison=st.sampled_from(["lt", "le", "gt", "ge"]),
       a=st.floats(-2000, 2000), b=st.floats(-2000, 2000))
def test_for_any_valid_feelings_a_healthier_value_never_lowers_the_status(thresholds, comparison, a, b):
    """Loaded through the config (so the order rule applies): status is monotonic in the value."""
    lower_is_healthier = comparison in ("lt", "le")
    ordered = sorted(thresholds, reverse=lower_is_healthier)  # status 4 gets the strictest threshold
    statuses = range(5 - len(ordered), 5)
    doc = {"labourers": [{"id": "w", "health_metrics": [{
        "name": "m", "namespace": "NS", "metric_name": "m", "comparison": comparison,
        "feelings": {str(s): t for s, t in zip(statuses, ordered, strict=True)}}]}]}
    loaded = config_from_dict(doc).labourers[0].health_metrics[0]
    healthier, worse = (min(a, b), max(a, b)) if lower_is_healthier else (max(a, b), min(a, b))
    assert metric_status(loaded, healthier) >= metric_status(loaded, worse)


def test_health_imports_nothing_from_aws():
    tree = ast.parse(Path(sosw_core.domain.health.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in {"boto3", "botocore", "pynamodb", "moto"}}

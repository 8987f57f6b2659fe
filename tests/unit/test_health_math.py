"""Health math with the sosw vectors (the window value, the status, the desired number), and the
per-tick metric cache."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.cloudwatch import CloudWatchMetrics, StaticMetrics
from sosw_core.config import Comparison, HealthMetric
from sosw_core.config.model import LabourerConfig
from sosw_core.domain.health import (
    WINDOW_REDUCERS,
    desired_invocations,
    labourer_status,
    metric_status,
    window_value,
)


def metric(comparison: str, feelings: dict[int, float], name: str = "m", **kw) -> HealthMetric:
    return HealthMetric(name=name, namespace="NS", metric_name=name, comparison=Comparison(comparison),
                        feelings=tuple(sorted(feelings.items())), **kw)


@pytest.mark.parametrize(("value", "status"), [(0, 4), (25, 4), (30, 3), (50, 3), (51, 0)])
def test_le_vectors_from_sosw(value, status):
    assert metric_status(metric("le", {3: 50, 4: 25}), value) == status


@pytest.mark.parametrize(("comparison", "feelings", "value", "status"), [
    ("lt", {3: 50, 4: 25}, 25, 3), ("lt", {3: 50, 4: 25}, 24.9, 4), ("lt", {3: 50, 4: 25}, 50, 0),
    ("ge", {2: 50, 4: 90}, 95, 4), ("ge", {2: 50, 4: 90}, 50, 2), ("ge", {2: 50, 4: 90}, 49, 0),
    ("gt", {2: 50, 4: 90}, 90, 2), ("gt", {2: 50, 4: 90}, 90.1, 4),
])
def test_every_operator_works(comparison, feelings, value, status):
    assert metric_status(metric(comparison, feelings), value) == status


def test_no_data_gives_the_configured_status():
    assert metric_status(metric("le", {4: 1}, no_data_status=2), None) == 2


def test_the_worst_metric_wins_and_no_metrics_is_healthy():
    a, b = metric("le", {3: 50, 4: 25}, "a"), metric("ge", {1: 10, 4: 90}, "b")
    assert labourer_status([a, b], [10, 15]) == 1
    assert labourer_status([], []) == 4


def test_desired_vectors_from_sosw():
    coefficients = (0, 0, 0.5, 0.75, 1)
    assert [desired_invocations(10, s, coefficients, 0) for s in range(5)] == [0, 0, 5, 7, 10]
    assert desired_invocations(10, 4, coefficients, 3) == 7
    assert desired_invocations(10, 2, coefficients, 9) == 0
    with pytest.raises(ValueError):
        desired_invocations(10, 5, coefficients, 0)


SOSW07_SAMPLE = [31.3333333345751, 100.0, 29.4999999987582]  # test_ecology.py's datapoints


def test_sosw07_sample_is_judged_on_the_mean_of_its_window():
    """sosw 0.7.51: mean 53.6 > 50 is status 0, so 0 of 10 tasks; the latest datapoint (29.5) was 3 and 7."""
    value = window_value("Average", SOSW07_SAMPLE)
    status = metric_status(metric("le", {3: 50, 4: 25}), value)
    assert (round(value, 4), status) == (53.6111, 0)
    assert desired_invocations(10, status, (0, 0, 0.5, 0.75, 1), 0) == 0


@pytest.mark.parametrize(("statistic", "expected"), [
    ("Average", 53.6111111111), ("Maximum", 100.0), ("Minimum", 29.4999999987582),
    ("Sum", 160.8333333333333), ("SampleCount", 160.8333333333333),
])
def test_window_value_per_statistic(statistic, expected):
    assert window_value(statistic, SOSW07_SAMPLE) == pytest.approx(expected)


def test_window_value_without_datapoints_is_none_and_an_unknown_statistic_is_refused():
    assert all(window_value(statistic, []) is None for statistic in WINDOW_REDUCERS)
    assert window_value("Average", [7.0]) == 7.0
    with pytest.raises(ValueError, match="p99"):
        window_value("p99", [1.0])


def test_the_mean_is_correctly_rounded_so_a_value_on_a_threshold_stays_on_it():
    # sum() of these is 0.30000000000000004 / 3 → 0.10000000000000002: above a threshold of 0.1
    assert sum([0.1, 0.1, 0.1]) / 3 > 0.1
    assert window_value("Average", [0.1, 0.1, 0.1]) == 0.1
    assert metric_status(metric("le", {4: 0.1}), window_value("Average", [0.1, 0.1, 0.1])) == 4


def test_a_labourer_without_max_simultaneous_invocations_runs_one_at_a_time():
    """sosw 0.7's TaskManager default ``max_simultaneous_invocations: 1``."""
    default = LabourerConfig(id="w").max_simultaneous_invocations
    assert default == 1
    assert [desired_invocations(default, s, (0, 0, 0.5, 0.75, 1), 0) for s in range(5)] == [0, 0, 0, 0, 1]


def test_static_metrics_read_values_or_a_function_of_time():
    m = metric("le", {4: 1}, "lag")
    assert StaticMetrics({"lag": 3.0}).for_tick(0).value(m) == 3.0
    assert StaticMetrics(lambda name, now: now * 2).for_tick(5).value(m) == 10


class CountingClient:
    def __init__(self, client):
        self.client, self.calls = client, 0

    def get_metric_statistics(self, **kwargs):
        self.calls += 1
        return self.client.get_metric_statistics(**kwargs)


@mock_aws
def test_cloudwatch_reads_the_window_once_per_tick():
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    now = datetime.now(UTC).timestamp()
    for offset, value in ((-120, 10.0), (-30, 42.0)):
        cw.put_metric_data(Namespace="NS", MetricData=[{
            "MetricName": "lag", "Value": value, "Timestamp": datetime.fromtimestamp(now + offset, UTC),
            "Dimensions": [{"Name": "Fn", "Value": "w"}]}])
    client = CountingClient(cw)
    lag = metric("le", {4: 50}, "lag", dimensions=(("Fn", "w"),), statistic="Maximum")
    same = metric("le", {3: 80}, "lag", dimensions=(("Fn", "w"),), statistic="Maximum")
    reader = CloudWatchMetrics(client).for_tick(now)
    assert reader.value(lag) == 42.0
    assert reader.value(same) == 42.0
    assert client.calls == 1
    missing = metric("le", {4: 50}, "nothing")
    assert reader.value(missing) is None
    assert client.calls == 2

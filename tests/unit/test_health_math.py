"""Health math with the sosw vectors, and the per-tick metric cache."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.cloudwatch import CloudWatchMetrics, StaticMetrics
from sosw_core.config import Comparison, HealthMetric
from sosw_core.domain.health import desired_invocations, labourer_status, metric_status


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
def test_cloudwatch_reads_the_latest_datapoint_once_per_tick():
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

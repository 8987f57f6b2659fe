"""The CloudWatch adapter on moto: the statistic over the window (sosw 0.7's rule), the request's
parameters, no data, the lookback window, one call per distinct metric per tick; and StaticMetrics
for local runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.cloudwatch import CloudWatchMetrics, StaticMetrics
from sosw_core.config import Comparison, HealthMetric

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


def metric(name: str = "lag", metric_name: str = "Lag", **kw) -> HealthMetric:
    kw.setdefault("dimensions", (("FunctionName", "w"),))
    return HealthMetric(name=name, namespace="NS", metric_name=metric_name, comparison=Comparison.LE,
                        feelings=((4, 50.0),), **kw)


class CountingClient:
    """A real (moto) client that counts GetMetricStatistics requests."""

    def __init__(self, client):
        self.client, self.calls = client, 0

    def get_metric_statistics(self, **kwargs):
        self.calls += 1
        return self.client.get_metric_statistics(**kwargs)


@pytest.fixture
def cloudwatch():
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def put(client, value: float, seconds_before_now: float, metric_name: str = "Lag", function: str = "w") -> None:
    client.put_metric_data(Namespace="NS", MetricData=[{
        "MetricName": metric_name, "Value": value, "Timestamp": datetime.fromtimestamp(NOW - seconds_before_now, UTC),
        "Dimensions": [{"Name": "FunctionName", "Value": function}]}])


class RecordingClient:
    """Records each GetMetricStatistics request and answers with fixed datapoints."""

    def __init__(self, datapoints: list[dict]):
        self.datapoints, self.requests = datapoints, []

    def get_metric_statistics(self, **kwargs):
        self.requests.append(kwargs)
        return {"Label": kwargs["MetricName"], "Datapoints": self.datapoints}


def test_the_request_asks_for_the_statistic_per_period_over_the_window():
    client = RecordingClient([])
    CloudWatchMetrics(client).value(metric(statistic="Maximum", period_seconds=10, lookback_seconds=120), NOW)
    (request,) = client.requests
    end = datetime.fromtimestamp(NOW, UTC)
    assert request == {"Namespace": "NS", "MetricName": "Lag", "Dimensions": [{"Name": "FunctionName", "Value": "w"}],
                       "StartTime": end - timedelta(seconds=120), "EndTime": end, "Period": 10,
                       "Statistics": ["Maximum"]}


def test_sosw07_defaults_are_average_per_minute_over_five_minutes():
    client = RecordingClient([])
    CloudWatchMetrics(client).value(HealthMetric(name="cpu", namespace="AWS/RDS", metric_name="CPUUtilization",
                                                 comparison=Comparison.LE, feelings=((3, 50.0), (4, 25.0))), NOW)
    (request,) = client.requests
    assert (request["Statistics"], request["Period"], request["EndTime"] - request["StartTime"]) == (
        ["Average"], 60, timedelta(seconds=300))
    assert request["Dimensions"] == []


def test_sosw07_sample_gives_the_mean_of_the_window_not_the_latest_datapoint():
    """sosw 0.7.51's own test sample (test_ecology.py): 100.0 at 14:00, 31.33 at 14:03, 29.5 at 14:04."""
    at = datetime(2019, 5, 13, 14, 0, tzinfo=UTC)
    client = RecordingClient([
        {"Timestamp": at + timedelta(minutes=3), "Average": 31.3333333345751, "Unit": "Percent"},
        {"Timestamp": at, "Average": 100.0, "Unit": "Percent"},
        {"Timestamp": at + timedelta(minutes=4), "Average": 29.4999999987582, "Unit": "Percent"},
    ])
    value = CloudWatchMetrics(client).value(metric(), NOW)
    assert value == pytest.approx(53.6111111111)
    assert value > 50  # status 0 with sosw's feelings le {3: 50, 4: 25}; the latest (29.5) would be 3


def test_average_is_the_mean_of_the_periods_averages(cloudwatch):
    put(cloudwatch, 10.0, 250)  # one period: average 15
    put(cloudwatch, 20.0, 245)
    put(cloudwatch, 60.0, 70)  # another period: average 60
    put(cloudwatch, 1000.0, 400)  # outside the window
    metrics = CloudWatchMetrics(cloudwatch)
    assert metrics.value(metric(statistic="Average"), NOW) == 37.5  # not 30, the mean of the samples
    assert metrics.value(metric(statistic="Maximum"), NOW) == 60.0
    assert metrics.value(metric(statistic="Minimum"), NOW) == 10.0
    assert metrics.value(metric(statistic="Sum"), NOW) == 90.0
    assert metrics.value(metric(statistic="SampleCount"), NOW) == 3.0


def test_the_largest_maximum_wins_whatever_its_period(cloudwatch):
    put(cloudwatch, 10.0, 200)
    put(cloudwatch, 42.0, 130)
    put(cloudwatch, 7.0, 30)  # the latest datapoint
    assert CloudWatchMetrics(cloudwatch).value(metric(statistic="Maximum"), NOW) == 42.0


def test_the_configured_statistic_is_read(cloudwatch):
    for value in (10.0, 20.0, 60.0):
        put(cloudwatch, value, 30)
    metrics = CloudWatchMetrics(cloudwatch)
    assert metrics.value(metric(statistic="Average"), NOW) == 30.0
    assert metrics.value(metric(statistic="Sum"), NOW) == 90.0
    assert metrics.value(metric(statistic="Minimum"), NOW) == 10.0
    assert metrics.value(metric(statistic="SampleCount"), NOW) == 3.0


def test_no_datapoints_gives_none(cloudwatch):
    put(cloudwatch, 5.0, 30, function="other")
    metrics = CloudWatchMetrics(cloudwatch)
    assert metrics.value(metric(), NOW) is None
    assert metrics.value(metric(metric_name="Nothing"), NOW) is None


def test_only_the_lookback_window_is_read(cloudwatch):
    put(cloudwatch, 5.0, 400)
    metrics = CloudWatchMetrics(cloudwatch)
    assert metrics.value(metric(lookback_seconds=300), NOW) is None
    assert metrics.value(metric(lookback_seconds=600), NOW) == 5.0
    assert metrics.value(metric(lookback_seconds=600), NOW - 500) is None


def test_each_distinct_metric_is_fetched_once_per_tick(cloudwatch):
    put(cloudwatch, 42.0, 30)
    client = CountingClient(cloudwatch)
    fetcher = CloudWatchMetrics(client)
    tick = fetcher.for_tick(NOW)
    lag = metric("lag", statistic="Maximum")
    same_request = metric("lag_for_another_labourer", statistic="Maximum")
    assert tick.value(lag) == 42.0
    assert tick.value(same_request) == 42.0
    assert tick.value(lag) == 42.0
    assert client.calls == 1

    assert tick.value(metric("lag", statistic="Minimum")) == 42.0
    assert tick.value(metric("lag", dimensions=(("FunctionName", "other"),))) is None
    assert tick.value(metric("lag", dimensions=(("FunctionName", "other"),))) is None  # None is cached too
    assert tick.value(metric("lag", lookback_seconds=600)) == 42.0
    assert client.calls == 4

    assert fetcher.for_tick(NOW + 10).value(lag) == 42.0  # a new tick reads again
    assert client.calls == 5


def test_value_without_a_tick_is_not_cached(cloudwatch):
    client = CountingClient(cloudwatch)
    fetcher = CloudWatchMetrics(client)
    fetcher.value(metric(), NOW)
    fetcher.value(metric(), NOW)
    assert client.calls == 2


def test_static_metrics_from_a_mapping_or_a_function_of_time():
    lag = metric("lag")
    assert StaticMetrics({"lag": 3.0}).for_tick(NOW).value(lag) == 3.0
    assert StaticMetrics({}).for_tick(NOW).value(lag) is None
    assert StaticMetrics(lambda name, now: now * 2).for_tick(5).value(lag) == 10
    assert StaticMetrics({"lag": 1.0}).value(lag, NOW) == 1.0


def test_static_metrics_are_keyed_by_name_and_read_once_per_tick():
    reads: list[str] = []

    def source(name: str, now: float) -> float:
        reads.append(name)
        return {"a": 1.0, "b": 2.0}[name]

    tick = StaticMetrics(source).for_tick(NOW)
    a, b = metric("a"), metric("b")  # the same CloudWatch request, but different static values
    assert (tick.value(a), tick.value(b), tick.value(a)) == (1.0, 2.0, 1.0)
    assert reads == ["a", "b"]

"""``status``'s health column against CloudWatch (moto): the Orchestrator's status, computed now."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from moto import mock_aws

from sosw_core.cli.status import LOCAL_HEALTH, health_reader
from sosw_core.config import SoswConfig
from sosw_core.config.model import Comparison, HealthMetric
from tests.support import labourer

LAG = HealthMetric(name="lag", namespace="App", metric_name="Lag", comparison=Comparison.LE,
                   feelings=((2, 100.0), (3, 50.0), (4, 10.0)), no_data_status=1)


def config() -> SoswConfig:
    return SoswConfig(labourers=(labourer("plain"), labourer("watched", health_metrics=(LAG,))))


def test_health_is_read_from_cloudwatch_for_labourers_with_metrics():
    with mock_aws():
        now = datetime.now(UTC).timestamp()
        health = health_reader(config(), local=False, now=now)
        assert health("watched") == 1  # no datapoint yet: the metric's no_data_status
        boto3.client("cloudwatch").put_metric_data(Namespace="App", MetricData=[
            {"MetricName": "Lag", "Value": 70.0, "Timestamp": datetime.fromtimestamp(now - 30, UTC)}])
        health = health_reader(config(), local=False, now=now)
        assert (health("plain"), health("watched"), health("unknown")) == (4, 2, None)


def test_a_local_target_reads_no_cloudwatch():
    health = health_reader(config(), local=True, now=0.0)  # outside mock_aws: a call would fail
    assert (health("plain"), health("watched")) == (4, LOCAL_HEALTH)

"""Reading health metrics: CloudWatch (``GetMetricStatistics``) or static values for local runs.

Each distinct metric is fetched at most once per tick: ``for_tick(now)`` returns a reader with
its own cache, and the orchestrator makes one reader per tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sosw_core.config.model import HealthMetric

logger = logging.getLogger(__name__)


def metric_key(metric: HealthMetric) -> tuple:
    return (metric.namespace, metric.metric_name, metric.dimensions, metric.statistic,
            metric.period_seconds, metric.lookback_seconds)


class _TickReader:
    def __init__(self, fetch: Callable[[HealthMetric], float | None]):
        self._fetch = fetch
        self._cache: dict[tuple, float | None] = {}

    def value(self, metric: HealthMetric) -> float | None:
        key = metric_key(metric)
        if key not in self._cache:
            self._cache[key] = self._fetch(metric)
        return self._cache[key]


class CloudWatchMetrics:
    """Health metrics from CloudWatch; the client is injected (``boto3.client("cloudwatch")``)."""

    def __init__(self, client: Any):
        self.client = client

    def for_tick(self, now: float) -> _TickReader:
        return _TickReader(lambda metric: self.fetch(metric, now))

    def fetch(self, metric: HealthMetric, now: float) -> float | None:
        """The most recent datapoint's statistic in the lookback window; None without data."""
        response = self.client.get_metric_statistics(
            Namespace=metric.namespace, MetricName=metric.metric_name,
            Dimensions=[{"Name": k, "Value": v} for k, v in metric.dimensions],
            StartTime=datetime.fromtimestamp(now - metric.lookback_seconds, UTC),
            EndTime=datetime.fromtimestamp(now, UTC),
            Period=metric.period_seconds, Statistics=[metric.statistic])
        points = response.get("Datapoints", [])
        if not points:
            logger.info("no datapoints", extra={"metric": metric.name})
            return None
        latest = max(points, key=lambda p: p["Timestamp"])
        return float(latest[metric.statistic])


class StaticMetrics:
    """Metric values from a mapping (name → value) or a function of (metric name, now)."""

    def __init__(self, values: Mapping[str, float | None] | Callable[[str, float], float | None]):
        self.values = values

    def for_tick(self, now: float) -> _TickReader:
        if callable(self.values):
            source = self.values
            return _TickReader(lambda metric: source(metric.name, now))
        mapping = self.values
        return _TickReader(lambda metric: mapping.get(metric.name))

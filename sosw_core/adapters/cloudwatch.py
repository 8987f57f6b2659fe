"""Reading health metrics: CloudWatch (``GetMetricStatistics``) or static values for local runs.

A metric is read as sosw 0.7 read it: one ``GetMetricStatistics`` request for the window
``[now - lookback_seconds, now]`` with ``Period=period_seconds`` and the one configured
statistic; its datapoints (one per period) become one value with
:func:`sosw_core.domain.health.window_value` (for ``Average``: their mean).

Each distinct metric is fetched at most once per tick: ``for_tick(now)`` returns a
:class:`TickReader` with its own cache, and the orchestrator makes one reader per tick. Two
metrics are the same when namespace, metric name, dimensions, statistic, period and lookback
are equal (see :func:`metric_key`); their names and feelings may differ.

    fetcher = CloudWatchMetrics(boto3.client("cloudwatch"))
    tick = fetcher.for_tick(now)
    tick.value(metric)  # one GetMetricStatistics call per distinct metric in this tick
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any

from sosw_core.config.model import HealthMetric
from sosw_core.domain.health import window_value

logger = logging.getLogger(__name__)


def metric_key(metric: HealthMetric) -> tuple[Hashable, ...]:
    """What makes two metrics the same CloudWatch request."""
    return (metric.namespace, metric.metric_name, metric.dimensions, metric.statistic,
            metric.period_seconds, metric.lookback_seconds)


class TickReader:
    """Metric values for one tick: each distinct metric is read once, then served from the cache."""

    def __init__(self, fetch: Callable[[HealthMetric], float | None],
                 key: Callable[[HealthMetric], Hashable] = metric_key):
        self._fetch = fetch
        self._key = key
        self._cache: dict[Hashable, float | None] = {}

    def value(self, metric: HealthMetric) -> float | None:
        key = self._key(metric)
        if key not in self._cache:
            self._cache[key] = self._fetch(metric)
        return self._cache[key]


class CloudWatchMetrics:
    """Health metrics from CloudWatch; the client is injected (``boto3.client("cloudwatch")``)."""

    def __init__(self, client: Any):
        self.client = client

    def for_tick(self, now: float) -> TickReader:
        return TickReader(lambda metric: self.value(metric, now))

    def value(self, metric: HealthMetric, now: float) -> float | None:
        """The statistic over ``[now - lookback, now]`` (see the module docstring); None without data.

        Uncached: one ``GetMetricStatistics`` call each time (use :meth:`for_tick` to share).
        """
        response = self.client.get_metric_statistics(
            Namespace=metric.namespace, MetricName=metric.metric_name,
            Dimensions=[{"Name": k, "Value": v} for k, v in metric.dimensions],
            StartTime=datetime.fromtimestamp(now - metric.lookback_seconds, UTC),
            EndTime=datetime.fromtimestamp(now, UTC),
            Period=metric.period_seconds, Statistics=[metric.statistic])
        points = [float(point[metric.statistic]) for point in response.get("Datapoints", [])]
        value = window_value(metric.statistic, points)
        logger.debug("health metric read", extra={"metric": metric.name, "datapoints": len(points),
                                                  "value": value})
        return value


class StaticMetrics:
    """Metric values from a mapping (metric name → value; absent → None, i.e. no data) or from a
    function of (metric name, now), for local runs and tests."""

    def __init__(self, values: Mapping[str, float | None] | Callable[[str, float], float | None]):
        self.values = values

    def for_tick(self, now: float) -> TickReader:
        """A reader cached by metric name (the key of the values), so each name is read once."""
        return TickReader(lambda metric: self.value(metric, now), key=lambda metric: metric.name)

    def value(self, metric: HealthMetric, now: float) -> float | None:
        if callable(self.values):
            return self.values(metric.name, now)
        return self.values.get(metric.name)

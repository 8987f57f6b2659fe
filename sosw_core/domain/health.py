"""Health: from metric values to a status 0..4, and from a status to how many tasks to invoke.

Pure: no AWS import. The CloudWatch adapter lives in :mod:`sosw_core.adapters.cloudwatch`.

A metric's value is one number for its whole window, as sosw 0.7 computed it: CloudWatch gives
one datapoint per period of the window (``lookback_seconds``, default 300 s, in periods of
``period_seconds``, default 60 s), each carrying the configured statistic (default ``Average``),
and :func:`window_value` combines them: the mean of the periods' averages, the largest maximum,
the smallest minimum. With datapoints 100, 31.3 and 29.5 (sosw 0.7's own test sample) the value
is 53.6, not the latest 29.5.

A metric's "feelings" map statuses to thresholds. The comparison reads "value OP threshold":
with ``le`` (lower is healthier), ``{3: 50, 4: 25}`` gives status 4 for values <= 25, 3 for
values <= 50, and 0 above. With ``ge`` (higher is healthier) the thresholds run the other way.
A labourer's status is the worst (lowest) of its metrics' statuses; without metrics it is 4.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable, Sequence

from sosw_core.config.model import Comparison, HealthMetric

HEALTHY = 4

_OPERATORS: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
}


def _mean(values: Sequence[float]) -> float:
    # statistics.mean is correctly rounded (exact sum, one rounding), so a value on a threshold
    # compares the same way it did in sosw 0.7, which used it too.
    return float(statistics.mean(values))


# How the periods' datapoints of a window become one value, per statistic. sosw 0.7 knew the
# first three (and crashed on the other two); Sum and SampleCount add up over the window.
WINDOW_REDUCERS: dict[str, Callable[[Sequence[float]], float]] = {
    "Average": _mean,  # unweighted mean of the periods' averages, as sosw 0.7
    "Maximum": max,
    "Minimum": min,
    "Sum": math.fsum,
    "SampleCount": math.fsum,
}


def window_value(statistic: str, datapoints: Sequence[float]) -> float | None:
    """One value for the window from each period's ``statistic``; None without datapoints.

    >>> window_value("Average", [100.0, 31.5, 29.5])
    53.666666666666664
    """
    if not datapoints:
        return None
    try:
        reduce = WINDOW_REDUCERS[statistic]
    except KeyError:
        raise ValueError(f"statistic must be one of {', '.join(WINDOW_REDUCERS)}, got {statistic!r}") from None
    return float(reduce(datapoints))


def metric_status(metric: HealthMetric, value: float | None) -> int:
    """The highest status whose threshold ``value`` satisfies; 0 if none; no data → configured."""
    if value is None:
        return metric.no_data_status
    compare = _OPERATORS[Comparison(metric.comparison)]
    best = 0
    for status, threshold in metric.feelings:
        if compare(value, threshold):
            best = max(best, status)
    return best


def labourer_status(metrics: Sequence[HealthMetric], values: Sequence[float | None]) -> int:
    """The worst metric wins; a labourer without metrics is healthy (4)."""
    statuses = [metric_status(m, v) for m, v in zip(metrics, values, strict=True)]
    return min(statuses, default=HEALTHY)


def desired_invocations(max_simultaneous: int, status: int, coefficients: Sequence[float],
                        running: int) -> int:
    """``floor(max × coefficient[status]) − running``, never below 0.

    With max 10 and nothing running, statuses 0..4 with the default coefficients
    (0, 0, 0.5, 0.75, 1) give 0, 0, 5, 7, 10.
    """
    if not 0 <= status < len(coefficients):
        raise ValueError(f"status must be 0..{len(coefficients) - 1}, got {status}")
    return max(0, math.floor(max_simultaneous * coefficients[status]) - running)

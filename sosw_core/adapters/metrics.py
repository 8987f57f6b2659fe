"""CloudWatch metrics as Embedded Metric Format (EMF) log lines: no API calls, no cost per call.

A Lambda function's stdout goes to CloudWatch Logs, which turns every line shaped like::

    {"_aws": {"Timestamp": 1700000000000,
              "CloudWatchMetrics": [{"Namespace": "SoswCore",
                                     "Dimensions": [["Labourer"]],
                                     "Metrics": [{"Name": "QueuedTasks", "Unit": "Count"}]}]},
     "Labourer": "w", "QueuedTasks": 12}

into metric datapoints. The dashboard and alarms of ``cloudformation/sosw-core.yaml`` read the
names defined here; change them together.

Dead tasks, essential errors and refused reports are also written without dimensions (a roll-up over all
labourers or components), because a CloudWatch alarm watches one exact dimension set and must
not need to know the labourers.

A metric's value is a number or a list of up to :data:`MAX_VALUES` numbers (EMF value arrays:
every element is one sample, so averages and percentiles come out per sample, e.g. one
dispatch latency per invoked task).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

NAMESPACE = "SoswCore"
LABOURER_DIMENSION = "Labourer"
COMPONENT_DIMENSION = "Component"

QUEUED = "QueuedTasks"  # gauge: tasks waiting in the queue index
RUNNING = "RunningTasks"  # gauge: tasks invoked and not yet reported
INVOKED = "InvokedTasks"  # count: invocations made during the tick
COMPLETED = "CompletedTasks"  # count: completions seen during the tick
FAILED = "FailedTasks"  # count: failed attempts (will be retried)
DEAD = "DeadTasks"  # count: tasks that gave up (alarmed on)
DISPATCH_LATENCY = "DispatchLatency"  # milliseconds from runnable to invoked
TICK_DURATION = "TickDuration"  # seconds one orchestrator/scavenger pass took
ERRORS = "EssentialErrors"  # count: labourers whose dispatch/sweep failed in a pass (alarmed on)
REFUSED = "ReportsRefused"  # count: worker reports the WorkerAssistant refused (alarmed on)

UNITS: dict[str, str] = {
    QUEUED: "Count", RUNNING: "Count", INVOKED: "Count", COMPLETED: "Count", FAILED: "Count",
    DEAD: "Count", DISPATCH_LATENCY: "Milliseconds", TICK_DURATION: "Seconds", ERRORS: "Count",
    REFUSED: "Count",
}
LABOURER_METRICS = (QUEUED, RUNNING, INVOKED, COMPLETED, FAILED, DEAD, DISPATCH_LATENCY, REFUSED)
ROLLED_UP = (DEAD, ERRORS, REFUSED)  # also written without dimensions, for the alarms

# The units CloudWatch accepts (PutMetricData's StandardUnit).
STANDARD_UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
})
MAX_DIMENSIONS = 30
MAX_METRICS_PER_DIRECTIVE = 100
MAX_VALUES = 100  # per metric in one record (an EMF value array)

Value = float | Sequence[float]


def write(records: Iterable[Mapping[str, Any]], stream: TextIO | None = None) -> int:
    """Write records as EMF lines (one JSON object per line) to ``stream`` (default stdout)."""
    out = sys.stdout if stream is None else stream
    count = 0
    for record in records:
        out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
        count += 1
    out.flush()
    return count


def _check_value(name: str, value: Any) -> None:
    samples = value if isinstance(value, list | tuple) else [value]
    if not samples or len(samples) > MAX_VALUES:
        raise ValueError(f"metric {name!r} needs 1 to {MAX_VALUES} values, got {len(samples)}")
    for sample in samples:
        if isinstance(sample, bool) or not isinstance(sample, int | float) or not math.isfinite(sample):
            raise ValueError(f"metric {name!r} needs finite numbers, got {value!r}")


def build_record(metrics: Mapping[str, Value], dimensions: Mapping[str, str], namespace: str,
                 units: Mapping[str, str] | None, *, rollup: Sequence[str], now: float) -> dict[str, Any]:
    """The EMF record as a dict (pure): validated names, units and values.

    ``units`` maps a metric name to a CloudWatch unit (``None``: :data:`UNITS`; a name in
    neither is ``"None"``). ``rollup`` names metrics also published with no dimensions (an
    aggregate over all values of the dimensions). ``now`` is the observation time, epoch seconds.
    """
    unit_map = UNITS if units is None else units
    if not metrics:
        raise ValueError("an EMF record needs at least one metric")
    if len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        raise ValueError(f"at most {MAX_METRICS_PER_DIRECTIVE} metrics per record, got {len(metrics)}")
    if len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} dimensions, got {len(dimensions)}")
    clash = (set(metrics) & set(dimensions)) | ({"_aws"} & (set(metrics) | set(dimensions)))
    if clash:
        raise ValueError(f"names used both as metric and dimension (or reserved): {sorted(clash)}")
    unknown_rollup = [name for name in rollup if name not in metrics]
    if unknown_rollup:
        raise ValueError(f"rollup names metrics not emitted: {unknown_rollup}")
    definitions = []
    for name, value in metrics.items():
        if not name:
            raise ValueError("a metric needs a name")
        _check_value(name, value)
        unit = unit_map.get(name, "None")
        if unit not in STANDARD_UNITS:
            raise ValueError(f"metric {name!r}: {unit!r} is not a CloudWatch unit")
        definitions.append({"Name": name, "Unit": unit})
    for key, dim_value in dimensions.items():
        if not key or not isinstance(dim_value, str) or not dim_value:
            raise ValueError(f"dimension {key!r} needs a non-empty string value, got {dim_value!r}")
    directives: list[dict[str, Any]] = [
        {"Namespace": namespace, "Dimensions": [sorted(dimensions)], "Metrics": definitions}]
    if rollup and dimensions:
        directives.append({"Namespace": namespace, "Dimensions": [[]],
                           "Metrics": [d for d in definitions if d["Name"] in rollup]})
    record: dict[str, Any] = {"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": directives}}
    record.update(dimensions)
    record.update({name: list(v) if isinstance(v, list | tuple) else v for name, v in metrics.items()})
    return record

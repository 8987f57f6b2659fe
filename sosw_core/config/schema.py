"""The JSON shape of a sosw-core config and the rules every value must follow.

The document mirrors :mod:`sosw_core.config.model`; object-valued fields become tuples of pairs
(``feelings`` sorted by status, ``dimensions`` sorted by name, ``job_schema_variants`` in the
order written). Rules, checked wherever a value comes from:

* labourers: ``id`` non-empty, ``[A-Za-z0-9_.-]+``, unique; ``max_simultaneous_invocations`` >= 0;
  ``max_duration_seconds`` > 0; ``max_attempts`` >= 1; ``max_invocations_per_minute`` null or >= 0;
* backoff: every number >= 0, ``factor`` >= 1, ``0 <= jitter <= 1``;
* health metrics: ``comparison`` one of lt/le/gt/ge; ``feelings`` maps statuses 0..4 to numbers,
  at least one; ``no_data_status`` 0..4; ``statistic`` one of SampleCount, Average, Sum, Minimum,
  Maximum; ``period_seconds`` 1, 5, 10, 30 or a multiple of 60 (CloudWatch's rule);
  ``lookback_seconds`` >= ``period_seconds``;
* feelings order: with ``lt``/``le`` (lower is healthier) a higher status needs a strictly
  LOWER threshold than every lower status; with ``gt``/``ge`` a strictly HIGHER one. Equal
  thresholds are refused because they make the lower status unreachable. Valid: le
  ``{"3": 50, "4": 25}``; invalid: le ``{"3": 25, "4": 50}``;
* tables: 3..255 characters of ``[a-zA-Z0-9_.-]`` (DynamoDB's rule);
* orchestrator: ``status_coefficients`` exactly 5 numbers in [0, 1], non-decreasing;
  ``tick_seconds`` > 0; ``stop_margin_seconds`` >= 0;
* retention days null or > 0; scavenger ``batch_limit`` >= 1; scheduler margins >= 0,
  ``max_payload_bytes`` 1 .. ``MAX_PAYLOAD_BYTES`` (262,144: a task's payload can never be
  larger, :mod:`sosw_core.domain.limits`); ``dynamodb.endpoint_url`` null or an http(s) URL;
* keys that were removed (:data:`REMOVED_KEYS`) are errors that say what to do instead.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from sosw_core.config.model import (
    Backoff,
    Comparison,
    DynamoDBConfig,
    HealthMetric,
    LabourerConfig,
    OrchestratorConfig,
    RetentionConfig,
    ScavengerConfig,
    SchedulerConfig,
    SoswConfig,
    TablesConfig,
)
from sosw_core.config.readers import (
    At,
    Bool,
    Choice,
    Int,
    KeyPath,
    ListOf,
    Nullable,
    Number,
    Obj,
    PairsOf,
    StatusKey,
    Text,
)
from sosw_core.domain.limits import MAX_PAYLOAD_BYTES

# Keys of the top level that sosw-core once read, and what replaces them (loading a config that
# still sets one is an error naming the key: its value was never used, so silently accepting it
# would hide that).
REMOVED_KEYS = {
    "worker_assistant_function": "remove it; a worker finds the WorkerAssistant through the "
                                 "SOSW_WORKER_ASSISTANT_FUNCTION variable of its own environment, "
                                 "and the essentials never read this key",
}

LABOURER_ID_PATTERN = r"[A-Za-z0-9_.-]+"
TABLE_NAME_PATTERN = r"[a-zA-Z0-9_.-]+"
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)
LOWER_IS_HEALTHIER = (Comparison.LT, Comparison.LE)


def check_feelings_order(metric: HealthMetric, at: At) -> None:
    """Thresholds must get stricter as the status rises (see the module docstring)."""
    lower_is_healthier = metric.comparison in LOWER_IS_HEALTHIER
    for (low_status, low), (high_status, high) in pairwise(metric.feelings):
        if (high < low) if lower_is_healthier else (high > low):
            continue
        direction = "below" if lower_is_healthier else "above"
        raise at.child("feelings").error(
            f"with {metric.comparison.value}, the threshold of status {high_status} ({high}) must be "
            f"strictly {direction} the threshold of status {low_status} ({low})")


def _check_metric(metric: HealthMetric, at: At) -> None:
    if not metric.feelings:
        raise at.child("feelings").error("must map at least one status to a threshold")
    check_feelings_order(metric, at)
    period = metric.period_seconds
    if period not in HIGH_RESOLUTION_PERIODS and period % 60:
        raise at.child("period_seconds").error(f"must be 1, 5, 10, 30 or a multiple of 60, got {period}")
    if metric.lookback_seconds < period:
        raise at.child("lookback_seconds").error(
            f"must be >= period_seconds ({period}), got {metric.lookback_seconds}")


def _check_unique_ids(labourers: tuple[LabourerConfig, ...], at: At) -> None:
    first_index: dict[str, int] = {}
    for index, labourer in enumerate(labourers):
        if labourer.id in first_index:
            raise at.child(index).child("id").error(
                f"duplicate labourer id {labourer.id!r} (also labourers[{first_index[labourer.id]}])")
        first_index[labourer.id] = index


def _check_non_decreasing(values: tuple[float, ...], at: At) -> None:
    for index, (low, high) in enumerate(pairwise(values)):
        if high < low:
            raise at.child(index + 1).error(f"must not be below the previous coefficient ({low}), got {high}")


NON_EMPTY = Text()
TABLE_NAME = Text(pattern=TABLE_NAME_PATTERN, min_length=3, max_length=255)

BACKOFF = Obj(Backoff, {
    "base_seconds": Number(minimum=0),
    "factor": Number(minimum=1),
    "cap_seconds": Number(minimum=0),
    "jitter": Number(minimum=0, maximum=1),
})

HEALTH_METRIC = Obj(HealthMetric, {
    "name": NON_EMPTY,
    "namespace": NON_EMPTY,
    "metric_name": NON_EMPTY,
    "comparison": Choice(Comparison),
    "feelings": PairsOf(StatusKey(), Number(), sort=True),
    "dimensions": PairsOf(NON_EMPTY, NON_EMPTY, sort=True),
    "statistic": Choice(STATISTICS),
    "period_seconds": Int(above=0),
    "lookback_seconds": Int(above=0),
    "no_data_status": Int(minimum=0, maximum=4),
}, check=_check_metric)

LABOURER = Obj(LabourerConfig, {
    "id": Text(pattern=LABOURER_ID_PATTERN),
    "arn": Text(min_length=0),
    "max_simultaneous_invocations": Int(minimum=0),
    "max_duration_seconds": Int(above=0),
    "max_attempts": Int(minimum=1),
    "backoff": BACKOFF,
    "health_metrics": ListOf(HEALTH_METRIC),
    "max_invocations_per_minute": Nullable(Int(minimum=0)),
    "chain_on_completion": Bool(),
    "payload_style": Choice(("sosw07", "clean")),
    "accept_sosw07_reports": Bool(),
})

SOSW_CONFIG = Obj(SoswConfig, {
    "labourers": ListOf(LABOURER, check=_check_unique_ids),
    "tables": Obj(TablesConfig, {"tasks": TABLE_NAME, "jobs": TABLE_NAME}),
    "dynamodb": Obj(DynamoDBConfig, {
        "endpoint_url": Nullable(Text(pattern=r"https?://\S+")),
        "region": Nullable(NON_EMPTY),
        "max_retry_attempts": Int(minimum=0),
    }),
    "retention": Obj(RetentionConfig, {
        "completed_days": Nullable(Number(above=0)),
        "dead_days": Nullable(Number(above=0)),
    }),
    "orchestrator": Obj(OrchestratorConfig, {
        "tick_seconds": Number(above=0),
        "stop_margin_seconds": Number(minimum=0),
        "status_coefficients": ListOf(Number(minimum=0, maximum=1), length=5, check=_check_non_decreasing),
    }),
    "scavenger": Obj(ScavengerConfig, {"batch_limit": Int(minimum=1)}),
    "scheduler": Obj(SchedulerConfig, {
        "job_schema_variants": PairsOf(NON_EMPTY, ListOf(NON_EMPTY)),
        "time_margin_seconds": Number(minimum=0),
        "max_payload_bytes": Int(minimum=1, maximum=MAX_PAYLOAD_BYTES),
    }),
    "alerts_topic_arn": Nullable(NON_EMPTY),
    "scheduler_function": NON_EMPTY,
}, removed=REMOVED_KEYS)


def parse_document(document: Any, origin: Callable[[KeyPath], str | None]) -> SoswConfig:
    """Build a :class:`SoswConfig` from a complete or partial document (missing keys: defaults).

    ``origin`` maps a key path to the name of the layer it came from, for error messages.
    """
    return SOSW_CONFIG.read(document, At((), origin))


def config_to_dict(config: SoswConfig) -> dict[str, Any]:
    """The JSON document of a config; ``config_from_dict`` of it gives an equal config."""
    return SOSW_CONFIG.dump(config)


def defaults_document() -> dict[str, Any]:
    return config_to_dict(SoswConfig())

"""Typed, frozen configuration objects.

Every field has the default that applies when no layer sets it. Parsing and layering live in
:mod:`sosw_core.config.loader`; this module only describes the shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sosw_core.domain.limits import MAX_PAYLOAD_BYTES
from sosw_core.errors import ConfigError, UnknownLabourer


class Comparison(StrEnum):
    """How a metric value is compared with a feeling's threshold ("value OP threshold")."""

    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"


@dataclass(frozen=True)
class Backoff:
    """Retry delay for attempt n (1-based): min(cap, base * factor**(n-1)), then jittered.

    ``jitter`` is the fraction of the delay that is randomised: 0 gives exact delays,
    1 gives "full jitter" (uniform between 0 and the delay).
    """

    base_seconds: float = 30.0
    factor: float = 2.0
    cap_seconds: float = 900.0
    jitter: float = 0.5


@dataclass(frozen=True)
class HealthMetric:
    """One CloudWatch metric and the "feelings" that map its value to a health status 0..4.

    ``feelings`` maps status -> threshold. With ``le``, status 4 holds when value <= feelings[4],
    else 3 when value <= feelings[3], and so on; a value that meets no threshold is status 0.
    The value compared is ``statistic`` over the last ``lookback_seconds`` in periods of
    ``period_seconds`` (sosw 0.7's defaults: Average, 60, 300), combined as sosw 0.7 did
    (:func:`sosw_core.domain.health.window_value`: for Average, the mean of the periods).
    ``no_data_status`` applies when CloudWatch returns no datapoints.
    """

    name: str
    namespace: str
    metric_name: str
    comparison: Comparison
    feelings: tuple[tuple[int, float], ...]
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = "Average"
    period_seconds: int = 60
    lookback_seconds: int = 300
    no_data_status: int = 4


@dataclass(frozen=True)
class LabourerConfig:
    """One worker type: a Lambda function and the rules for dispatching its tasks."""

    id: str
    arn: str = ""  # function name or ARN to invoke; defaults to ``id`` (see ``function_name``)
    max_simultaneous_invocations: int = 1  # sosw 0.7's default: one at a time unless configured
    max_duration_seconds: int = 900  # the lease: an invoked task not reported by then is expired
    max_attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    health_metrics: tuple[HealthMetric, ...] = ()
    max_invocations_per_minute: int | None = None
    chain_on_completion: bool = True
    payload_style: str = "sosw07"  # or "clean": how jobs become payloads (docs/migrating-from-sosw.md)
    # Accept sosw 0.7 reports (no token): the IAM permission to invoke the WorkerAssistant is then
    # the only proof, as in sosw 0.7 (sosw_core/services/assistant.py). Off: token proof only.
    accept_sosw07_reports: bool = False

    @property
    def function_name(self) -> str:
        return self.arn or self.id


@dataclass(frozen=True)
class TablesConfig:
    tasks: str = "sosw_tasks"
    jobs: str = "sosw_jobs"


@dataclass(frozen=True)
class RetentionConfig:
    """How long closed tasks stay in the table (DynamoDB TTL); ``None`` keeps them forever."""

    completed_days: float | None = 14.0
    dead_days: float | None = 90.0


@dataclass(frozen=True)
class DynamoDBConfig:
    endpoint_url: str | None = None  # DynamoDB Local, e.g. http://127.0.0.1:8000
    region: str | None = None  # None: standard boto3 resolution (AWS_REGION / profile)
    # botocore standard-mode retries (exponential backoff) for throttling and transient errors
    max_retry_attempts: int = 8


@dataclass(frozen=True)
class OrchestratorConfig:
    tick_seconds: float = 10.0  # sub-minute dispatch: one tick every this many seconds ...
    stop_margin_seconds: float = 10.0  # ... until this much Lambda time is left
    status_coefficients: tuple[float, float, float, float, float] = (0.0, 0.0, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class ScavengerConfig:
    batch_limit: int = 500  # most due items handled per labourer per pass


@dataclass(frozen=True)
class SchedulerConfig:
    job_schema_variants: tuple[tuple[str, tuple[str, ...]], ...] = (("default", ()),)
    time_margin_seconds: float = 30.0  # hand over to a continuation when less time is left
    max_payload_bytes: int = MAX_PAYLOAD_BYTES  # a deployment may set a lower limit, never a higher one

    def __post_init__(self) -> None:
        # The one rule also checked here, for configs built in Python: a task over the hard limit
        # would be refused by NewTask half-way through an ingestion, after pages were written.
        if not 1 <= self.max_payload_bytes <= MAX_PAYLOAD_BYTES:
            raise ConfigError("scheduler.max_payload_bytes",
                              f"must be 1..{MAX_PAYLOAD_BYTES} (a task's payload can never be larger), "
                              f"got {self.max_payload_bytes}")

    def chunkable_attrs(self, variant: str | None) -> tuple[str, ...] | None:
        wanted = variant or "default"
        for name, attrs in self.job_schema_variants:
            if name == wanted:
                return attrs
        return None


@dataclass(frozen=True)
class SoswConfig:
    labourers: tuple[LabourerConfig, ...] = ()
    tables: TablesConfig = field(default_factory=TablesConfig)
    dynamodb: DynamoDBConfig = field(default_factory=DynamoDBConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    orchestrator: OrchestratorConfig = field(default_factory=OrchestratorConfig)
    scavenger: ScavengerConfig = field(default_factory=ScavengerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    alerts_topic_arn: str | None = None
    scheduler_function: str = "sosw_scheduler"

    def labourer(self, labourer_id: str) -> LabourerConfig:
        for labourer in self.labourers:
            if labourer.id == labourer_id:
                return labourer
        raise UnknownLabourer(labourer_id)

"""Configuration: typed frozen objects (:mod:`.model`) and their layered loading (:mod:`.loader`)."""

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

__all__ = [
    "Backoff",
    "Comparison",
    "DynamoDBConfig",
    "HealthMetric",
    "LabourerConfig",
    "OrchestratorConfig",
    "RetentionConfig",
    "ScavengerConfig",
    "SchedulerConfig",
    "SoswConfig",
    "TablesConfig",
]

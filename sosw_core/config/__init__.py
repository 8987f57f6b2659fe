"""Configuration: typed frozen objects (:mod:`.model`) and their layered loading (:mod:`.loader`)."""

from sosw_core.config.layers import config_from_dict
from sosw_core.config.loader import load_config
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
from sosw_core.config.schema import config_to_dict

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
    "config_from_dict",
    "config_to_dict",
    "load_config",
]

"""Helpers shared by the test tiers (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import uuid

from sosw_core.adapters.dynamodb import Store
from sosw_core.config import Backoff, DynamoDBConfig, LabourerConfig, SoswConfig, TablesConfig


def labourer(id: str = "w", **kwargs) -> LabourerConfig:
    defaults = dict(max_simultaneous_invocations=10, max_duration_seconds=60, max_attempts=3,
                    backoff=Backoff(base_seconds=10, factor=2, cap_seconds=300, jitter=0))
    defaults.update(kwargs)
    return LabourerConfig(id=id, **defaults)


def make_config(endpoint: str | None, labourers=(), **kwargs) -> SoswConfig:
    suffix = uuid.uuid4().hex[:10]
    return SoswConfig(labourers=tuple(labourers) or (labourer(),),
                      tables=TablesConfig(tasks=f"tasks_{suffix}", jobs=f"jobs_{suffix}"),
                      dynamodb=DynamoDBConfig(endpoint_url=endpoint, max_retry_attempts=3), **kwargs)


def count_rows(store: Store) -> int:
    """Rows really in the tasks table (a Scan), for 'nothing lost / nothing created' checks."""
    return sum(1 for _ in store.models.task.scan())


class RunsOut:
    """A Lambda context with plenty of time for ``checks`` reads, then less than the margin."""

    def __init__(self, checks: int):
        self.left = checks

    def get_remaining_time_in_millis(self) -> int:
        self.left -= 1
        return 600_000 if self.left >= 0 else 5_000

"""Helpers shared by the test tiers (plain functions; fixtures live in conftest.py, test
doubles in fakes.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sosw_core.adapters.dynamodb import Store
from sosw_core.adapters.memory import MemoryStore
from sosw_core.adapters.notifiers.local import MemoryNotifier
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


def count_rows(store: Store | MemoryStore) -> int:
    """Rows really in the tasks table (a Scan), for 'nothing lost / nothing created' checks."""
    if isinstance(store, MemoryStore):
        return store.tables.task_count()
    return sum(1 for _ in store.models.task.scan())


Datapoint = tuple[str, tuple[tuple[str, str], ...], str, Any]  # (metric, dimensions, unit, value)


def emf_datapoints(records: Iterable[Mapping[str, Any]]) -> list[Datapoint]:
    """What CloudWatch extracts from EMF records: one datapoint per metric per dimension set."""
    out: list[Datapoint] = []
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    out.append((metric["Name"], tuple((d, record[d]) for d in dims), metric["Unit"],
                                record[metric["Name"]]))
    return out


def emf_values(records: Iterable[Mapping[str, Any]], name: str, **dimensions: str) -> list[Any]:
    """Values of ``name`` written under exactly these dimensions (as a CloudWatch alarm reads them)."""
    return [value for metric, dims, _, value in emf_datapoints(records)
            if metric == name and dict(dims) == dimensions]


def alerted(notifier: MemoryNotifier) -> Counter:
    """How many alerts ``notifier`` received for each task id (exactly-once checks)."""
    return Counter(alert.task_id for alert in notifier.alerts)

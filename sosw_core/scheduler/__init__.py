"""The Scheduler: sosw 0.7 jobs into tasks (pure chunking here; ingestion in :mod:`.ingest`)."""

from sosw_core.scheduler.chunking import (
    chunkable_attrs_for,
    count_tasks,
    iter_task_payloads,
    plan,
    plural,
    validate,
)
from sosw_core.scheduler.job import Job, canonical_job_id, function_name, parse_job
from sosw_core.scheduler.periods import DEFAULT_PERIODS, PeriodRegistry, default_periods

__all__ = [
    "DEFAULT_PERIODS",
    "Job",
    "PeriodRegistry",
    "canonical_job_id",
    "chunkable_attrs_for",
    "count_tasks",
    "default_periods",
    "function_name",
    "iter_task_payloads",
    "parse_job",
    "plan",
    "plural",
    "validate",
]

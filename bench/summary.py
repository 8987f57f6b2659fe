"""Medians and min–max over repeated runs, and the text table the harness prints."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Fields that describe a run rather than measure it.
NOT_METRICS = frozenset({"size", "repeat", "tasks", "labourers", "queued", "item_bytes", "batch",
                         "max_concurrent", "minute_seconds"})

TABLE_COLUMNS = (("seconds", "wall s"), ("tasks_per_s", "tasks/s"), ("requests_per_task", "req/task"),
                 ("write_units_per_task", "WCU/task"), ("read_units_per_task", "RCU/task"))


# One workload-specific figure worth a column of its own: (field, caption).
EXTRA_FIELDS = (("items_per_s_4_threads", "4 threads items/s"), ("requests_per_labourer", "req/labourer"),
                ("tasks_per_real_minute", "tasks/real minute"))


def spread(values: Sequence[float]) -> dict[str, float]:
    """``{"median", "min", "max", "n"}`` of a non-empty sequence."""
    if not values:
        raise ValueError("spread() needs at least one value")
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def numeric_fields(result: Mapping[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in result.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and key not in NOT_METRICS}


def summarize(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Spread of every numeric field and of every per-operation request count."""
    results = list(results)
    metrics: dict[str, list[float]] = {}
    requests: dict[str, list[float]] = {}
    for result in results:
        for key, value in numeric_fields(result).items():
            metrics.setdefault(key, []).append(value)
        for op, count in (result.get("requests") or {}).items():
            requests.setdefault(op, []).append(float(count))
    return {"metrics": {key: spread(values) for key, values in sorted(metrics.items())},
            "requests": {op: spread(values) for op, values in sorted(requests.items())}}


def _cell(metric: Mapping[str, float] | None) -> str:
    if metric is None:
        return "-"
    median, low, high = (f"{metric[key]:.4g}" for key in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}–{high})"


def _extra(metrics: Mapping[str, Mapping[str, float]]) -> str:
    return " ".join(f"{caption}: {_cell(metrics[key])}" for key, caption in EXTRA_FIELDS if key in metrics)


def render_table(summary: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """One row per (label, side): status, size and the medians (min–max) of the main metrics."""
    header = ["workload", "side", "size", "runs"] + [title for _, title in TABLE_COLUMNS] + ["other"]
    rows = [header]
    for label, sides in summary.items():
        for side, entry in sides.items():
            metrics = entry.get("metrics", {})
            runs = f"{entry.get('ok', 0)}/{entry.get('runs', 0)}"
            if entry.get("status") != "ok":
                runs += f" {entry.get('status')}"
            rows.append([label, side, str(entry.get("size", "-")), runs]
                        + [_cell(metrics.get(key)) for key, _ in TABLE_COLUMNS]
                        + [_extra(metrics)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                     for row in rows)

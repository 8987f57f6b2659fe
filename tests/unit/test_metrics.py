"""EMF lines parse back into the metrics, dimensions and units CloudWatch will extract."""

from __future__ import annotations

import io
import json
import math

import pytest

from sosw_core.adapters import metrics

NOW = 1_700_000_000.25


def _lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _extracted(record: dict) -> list[tuple[str, tuple[tuple[str, str], ...], str, float]]:
    """What CloudWatch makes of a record: (metric, dimensions, unit, value) per directive."""
    out = []
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for dims in directive["Dimensions"]:
            for metric in directive["Metrics"]:
                out.append((metric["Name"], tuple((d, record[d]) for d in dims), metric["Unit"],
                            record[metric["Name"]]))
    return out


def test_emit_writes_one_emf_line():
    stream = io.StringIO()
    record = metrics.emit({"QueuedTasks": 12, "DispatchLatency": 250.5}, {"Labourer": "w"},
                          now=NOW, stream=stream)
    [parsed] = _lines(stream)
    assert parsed == record
    assert parsed["_aws"]["Timestamp"] == 1_700_000_000_250
    [directive] = parsed["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SoswCore"
    assert sorted(_extracted(parsed)) == [
        ("DispatchLatency", (("Labourer", "w"),), "Milliseconds", 250.5),
        ("QueuedTasks", (("Labourer", "w"),), "Count", 12),
    ]


def test_labourer_metrics_rolls_dead_up_without_dimensions():
    stream = io.StringIO()
    metrics.labourer_metrics("w", queued=3, running=2, invoked=1, completed=4, failed=0, dead=2,
                             dispatch_latency_ms=40, now=NOW, stream=stream)
    [record] = _lines(stream)
    extracted = _extracted(record)
    per_labourer = {name for name, dims, _, _ in extracted if dims == (("Labourer", "w"),)}
    assert per_labourer == {"QueuedTasks", "RunningTasks", "InvokedTasks", "CompletedTasks",
                            "FailedTasks", "DeadTasks", "DispatchLatency"}
    assert [(n, v) for n, dims, _, v in extracted if dims == ()] == [("DeadTasks", 2)]


def test_labourer_metrics_writes_only_given_figures():
    stream = io.StringIO()
    assert metrics.labourer_metrics("w", now=NOW, stream=stream) is None
    assert stream.getvalue() == ""
    metrics.labourer_metrics("w", completed=5, now=NOW, stream=stream)
    [record] = _lines(stream)
    assert _extracted(record) == [("CompletedTasks", (("Labourer", "w"),), "Count", 5)]


def test_tick_duration():
    stream = io.StringIO()
    metrics.tick_duration("orchestrator", 1.5, now=NOW, stream=stream)
    [record] = _lines(stream)
    assert _extracted(record) == [("TickDuration", (("Component", "orchestrator"),), "Seconds", 1.5)]


def test_custom_namespace_and_units():
    stream = io.StringIO()
    record = metrics.emit({"Bytes": 10}, {"Table": "t"}, namespace="Mine", units={"Bytes": "Bytes"},
                          now=NOW, stream=stream)
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Mine"
    assert _extracted(record) == [("Bytes", (("Table", "t"),), "Bytes", 10)]


@pytest.mark.parametrize("bad", [
    dict(metrics={}, dimensions={"Labourer": "w"}),
    dict(metrics={"X": math.nan}, dimensions={}),
    dict(metrics={"X": math.inf}, dimensions={}),
    dict(metrics={"X": True}, dimensions={}),
    dict(metrics={"X": "1"}, dimensions={}),
    dict(metrics={"X": 1}, dimensions={"X": "clash"}),
    dict(metrics={"X": 1}, dimensions={"Labourer": ""}),
    dict(metrics={"X": 1}, dimensions={}, units={"X": "Apples"}),
    dict(metrics={"X": 1}, dimensions={}, rollup=("Y",)),
    dict(metrics={"X": []}, dimensions={}),
    dict(metrics={"X": [1.0] * 101}, dimensions={}),
    dict(metrics={"X": [1.0, math.nan]}, dimensions={}),
])
def test_invalid_input_is_refused_before_writing(bad):
    stream = io.StringIO()
    with pytest.raises(ValueError):
        metrics.emit(**bad, now=NOW, stream=stream)
    assert stream.getvalue() == ""


def test_default_stream_is_stdout(capsys):
    metrics.tick_duration("scavenger", 0.2, now=NOW)
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["TickDuration"] == 0.2


def test_value_arrays_are_one_sample_each():
    stream = io.StringIO()
    metrics.labourer_metrics("w", dispatch_latency_ms=[10, 20.5, 30], now=NOW, stream=stream)
    [record] = _lines(stream)
    assert _extracted(record) == [("DispatchLatency", (("Labourer", "w"),), "Milliseconds", [10, 20.5, 30])]
    record = metrics.build_record({"X": tuple(range(100))}, {}, "N", None, rollup=(), now=NOW)
    assert record["X"] == list(range(100))  # a tuple is written as a JSON array


def test_write_puts_one_record_per_line():
    stream = io.StringIO()
    records = [metrics.build_record({"X": i}, {"D": "d"}, "N", None, rollup=(), now=NOW) for i in range(3)]
    assert metrics.write(records, stream) == 3
    assert _lines(stream) == records

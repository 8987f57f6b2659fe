"""EMF lines parse back into the metrics, dimensions and units CloudWatch will extract."""

from __future__ import annotations

import io
import json
import math

import pytest

from sosw_core.adapters import metrics
from tests.support import emf_datapoints

NOW = 1_700_000_000.25
LABOURER = {metrics.LABOURER_DIMENSION: "w"}


def record(values, dimensions=None, namespace=metrics.NAMESPACE, units=None, rollup=()) -> dict:
    return metrics.build_record(values, LABOURER if dimensions is None else dimensions, namespace, units,
                                rollup=rollup, now=NOW)


def _lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_record_is_one_emf_line_that_cloudwatch_reads_back():
    stream = io.StringIO()
    written = record({metrics.QUEUED: 12, metrics.DISPATCH_LATENCY: 250.5})
    assert metrics.write([written], stream) == 1
    [parsed] = _lines(stream)
    assert parsed == written
    assert parsed["_aws"]["Timestamp"] == 1_700_000_000_250
    [directive] = parsed["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "SoswCore"
    assert sorted(emf_datapoints([parsed])) == [
        ("DispatchLatency", (("Labourer", "w"),), "Milliseconds", 250.5),
        ("QueuedTasks", (("Labourer", "w"),), "Count", 12),
    ]


def test_rolled_up_metrics_are_also_written_without_dimensions():
    written = record({metrics.QUEUED: 3, metrics.DEAD: 2}, rollup=(metrics.DEAD,))
    datapoints = emf_datapoints([written])
    assert {name for name, dims, _, _ in datapoints if dims == (("Labourer", "w"),)} == {"QueuedTasks", "DeadTasks"}
    assert [(name, value) for name, dims, _, value in datapoints if dims == ()] == [("DeadTasks", 2)]


def test_custom_namespace_and_units():
    written = record({"Bytes": 10}, {"Table": "t"}, namespace="Mine", units={"Bytes": "Bytes"})
    assert written["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Mine"
    assert emf_datapoints([written]) == [("Bytes", (("Table", "t"),), "Bytes", 10)]


@pytest.mark.parametrize("bad", [
    dict(values={}),
    dict(values={"X": math.nan}, dimensions={}),
    dict(values={"X": math.inf}, dimensions={}),
    dict(values={"X": True}, dimensions={}),
    dict(values={"X": "1"}, dimensions={}),
    dict(values={"X": 1}, dimensions={"X": "clash"}),
    dict(values={"X": 1}, dimensions={"Labourer": ""}),
    dict(values={"X": 1}, dimensions={}, units={"X": "Apples"}),
    dict(values={"X": 1}, dimensions={}, rollup=("Y",)),
    dict(values={"X": []}, dimensions={}),
    dict(values={"X": [1.0] * 101}, dimensions={}),
    dict(values={"X": [1.0, math.nan]}, dimensions={}),
])
def test_invalid_input_is_refused(bad):
    with pytest.raises(ValueError):
        record(**bad)


def test_default_stream_is_stdout(capsys):
    metrics.write([record({metrics.TICK_DURATION: 0.2}, {metrics.COMPONENT_DIMENSION: "scavenger"})])
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["TickDuration"] == 0.2


def test_value_arrays_are_one_sample_each():
    written = record({metrics.DISPATCH_LATENCY: [10, 20.5, 30]})
    assert emf_datapoints([written]) == [("DispatchLatency", (("Labourer", "w"),), "Milliseconds", [10, 20.5, 30])]
    assert record({"X": tuple(range(100))}, {})["X"] == list(range(100))  # a tuple is written as a JSON array


def test_write_puts_one_record_per_line():
    stream = io.StringIO()
    records = [record({"X": i}, {"D": "d"}, namespace="N") for i in range(3)]
    assert metrics.write(records, stream) == 3
    assert _lines(stream) == records

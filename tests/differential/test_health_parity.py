"""Health parity with the real sosw 0.7.51: the same labourer config and CloudWatch datapoints give
the same status, the same number of tasks to invoke and the same GetMetricStatistics requests.

Each case is a sosw 0.7 ``task_config`` (as its config table gives it: decoded JSON) with one
labourer. sosw runs it in ``sosw07_health_runner.py`` (ONE subprocess for every case); sosw-core
runs the config through ``sosw-core config from-sosw07``'s translation, then its CloudWatch
reader (answering from the same datapoints), ``labourer_status`` and ``desired_invocations``.
The cases: sosw's own unit-test samples (test_ecology.py, test_orchestrator.py, the tutorial's
labourer) and 400 seeded random ones. Verdicts other than ``same`` are the documented
differences (docs/migrating-from-sosw.md, "Health"), each checked against what sosw did.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sosw_core.adapters.cloudwatch import CloudWatchMetrics
from sosw_core.cli.sosw07_config import translate
from sosw_core.config import config_from_dict
from sosw_core.domain.health import desired_invocations, labourer_status
from sosw_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SOSW07_PYTHON = ROOT / ".venv-sosw07" / "bin" / "python"
RUNNER = Path(__file__).with_name("sosw07_health_runner.py")
NOW = 1_557_756_000.0
RANDOM_CASES = 400

pytestmark = pytest.mark.skipif(
    not SOSW07_PYTHON.exists(),
    reason="needs the real sosw 0.7.51 in .venv-sosw07: run `make .venv-sosw07/.installed` (`make test` does)")

SAME = "same"
NO_DATA = "fixed: no datapoints (sosw 0.7 crashed; sosw-core uses no_data_status)"
SUM_COUNT = "fixed: Sum or SampleCount (sosw 0.7 crashed; sosw-core adds up the window)"
ORDER_CHECK = "fixed: valid feelings sosw 0.7's order check refused (it started from threshold 0)"
REFUSED = "refused when the config loads: feelings out of order"


@dataclass(frozen=True)
class Case:
    name: str
    labourer: dict[str, Any]
    datapoints: dict[str, list[float]] = field(default_factory=dict)
    running: int = 0
    task_config: dict[str, Any] = field(default_factory=dict)

    def sosw_task_config(self) -> dict[str, Any]:
        return {**self.task_config, "labourers": {"w": self.labourer}}


def metric(name: str, feelings: dict[int, float], operator: str = "le", **details: Any) -> dict[str, Any]:
    return {"details": {"MetricName": name, "Namespace": "AWS/RDS", **details},
            "feelings": {str(status): threshold for status, threshold in feelings.items()},
            "feeling_comparison_operator": operator}


SOSW_LE = {3: 50, 4: 25}  # test_ecology.py's feelings
SOSW_SAMPLE = [31.3333333345751, 100.0, 29.4999999987582]  # test_ecology.py's GetMetricStatistics datapoints
ARN = "arn:aws:lambda:us-west-2:000000000000:function:some_function"


def sosw_cases() -> list[Case]:
    cpu = {"cpu": metric("CPUUtilization", SOSW_LE, "__le__")}
    cases = [Case("test_ecology sample: mean 53.6, status 0, nothing invoked",
                  {"arn": ARN, "max_simultaneous_invocations": 10, "health_metrics": cpu},
                  {"CPUUtilization": SOSW_SAMPLE})]
    cases += [Case(f"test_get_health value {value}",
                   {"arn": ARN, "max_simultaneous_invocations": 10, "health_metrics": cpu}, {"CPUUtilization": [value]})
              for value in (0, 1.0, 25, 25.000001, 30, 50, 51)]
    five = {"lag": metric("Lag", {1: 80, 2: 60, 3: 40, 4: 20})}
    cases += [Case(f"test_orchestrator desired, status {4 - n}",
                   {"arn": ARN, "max_simultaneous_invocations": 10, "health_metrics": five}, {"Lag": [10 + 20 * n]})
              for n in range(5)]
    cases += [Case("a labourer without max_simultaneous_invocations", {"arn": ARN}),
              Case("max_simultaneous_invocations 0 invokes nothing", {"arn": ARN, "max_simultaneous_invocations": 0}),
              Case("task_config's 0 applies too", {"arn": ARN}, task_config={"max_simultaneous_invocations": 0}),
              Case("task_config's max_simultaneous_invocations", {"arn": ARN},
                   task_config={"max_simultaneous_invocations": 4}),
              Case("the tutorial's labourer", {"arn": ARN, "max_simultaneous_invocations": 3}, running=1)]
    return cases


def _feelings(rng: random.Random, operator: str, ordered: bool) -> dict[int, float]:
    statuses = sorted(rng.sample(range(5), rng.randint(1, 4)), reverse=True)  # 4 first
    lower_is_healthier = operator.strip("_") in ("lt", "le")
    if lower_is_healthier or rng.random() < 0.2:
        magnitudes = sorted(rng.sample(range(1, 200), len(statuses)))  # the strictest first
    else:  # gt/ge below 0: the only ones sosw's order check let through
        magnitudes = sorted(rng.sample(range(-200, 0), len(statuses)), reverse=True)
    if not lower_is_healthier and magnitudes[0] > 0:
        magnitudes = magnitudes[::-1]  # higher is healthier: status 4 gets the highest threshold
    if not ordered:
        rng.shuffle(magnitudes)
    return dict(zip(statuses, magnitudes, strict=True))


def _values(rng: random.Random, feelings: dict[int, float]) -> list[float]:
    if rng.random() < 0.05:
        return []
    threshold = rng.choice(list(feelings.values()))
    shape = rng.random()
    if shape < 0.3:
        spread = rng.choice([0.5, 1, 7])
        return [threshold - spread, threshold + spread]  # the mean is on the threshold
    if shape < 0.6:
        return [threshold + rng.choice([-1, -0.5, 0, 0.5, 1]) for _ in range(rng.randint(1, 4))]
    return [round(rng.uniform(-250, 250), rng.choice([0, 2, 9])) for _ in range(rng.randint(1, 6))]


def random_case(rng: random.Random, number: int) -> Case:
    labourer: dict[str, Any] = {"arn": f"arn:aws:lambda:us-west-2:000000000000:function:w{number}"}
    if rng.random() < 0.7:
        labourer["max_simultaneous_invocations"] = rng.choice([0, 1, 2, 3, 10, 17])
    task_config = {"max_simultaneous_invocations": rng.choice([2, 5])} if rng.random() < 0.2 else {}
    metrics, datapoints = {}, {}
    for index in range(rng.choice([0, 1, 1, 2, 3])):
        operator = rng.choice(["le", "le", "__le__", "lt", "ge", "gt", "__ge__"])
        feelings = _feelings(rng, operator, ordered=rng.random() > 0.05)
        details: dict[str, Any] = {}
        if rng.random() < 0.3:
            details["Statistics"] = [rng.choices(["Maximum", "Minimum", "Average", "Sum", "SampleCount"],
                                                 weights=[4, 4, 4, 1, 1])[0]]
        if rng.random() < 0.3:
            details["Period"] = rng.choice([10, 60, 300])
        if rng.random() < 0.3:
            details["MetricAggregationTimeSlice"] = rng.choice([300, 600, 3600])
        if rng.random() < 0.3:
            details["Dimensions"] = [{"Name": "DBInstanceIdentifier", "Value": rng.choice(["a", "b"])}]
        name = f"M{rng.randint(0, index)}"  # sometimes the same metric twice
        metrics[f"metric{index}"] = metric(name, feelings, operator, **details)
        datapoints.setdefault(name, _values(rng, feelings))
    if metrics:
        labourer["health_metrics"] = metrics
    return Case(f"random {number}", labourer, datapoints, rng.randint(0, 12), task_config)


def run_sosw07(cases: list[Case]) -> list[dict[str, Any]]:
    lines = "".join(json.dumps({"id": n, "task_config": case.sosw_task_config(), "datapoints": case.datapoints,
                                "running": case.running}) + "\n" for n, case in enumerate(cases))
    done = subprocess.run([str(SOSW07_PYTHON), str(RUNNER)], input=lines, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sosw 0.7.51 runner failed ({done.returncode}): {done.stderr[-3000:]}")
    results = [json.loads(line) for line in done.stdout.splitlines()]
    if [result["id"] for result in results] != list(range(len(cases))):
        raise RuntimeError(f"the runner answered {len(results)} of {len(cases)} cases")
    return results


class Recording:
    """A CloudWatch client answering from the case's datapoints; records the requests as the runner does."""

    def __init__(self, datapoints: dict[str, list[float]]):
        self.datapoints, self.requests = datapoints, []

    def get_metric_statistics(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        statistic = params["Statistics"][0]
        return {"Datapoints": [{statistic: value} for value in self.datapoints.get(params["MetricName"], [])]}


def run_ours(case: Case) -> dict[str, Any]:
    """Our status, desired count and requests, or ``{"refused": ...}`` when the config does not load."""
    try:
        document = translate([("case", {"task_config": case.sosw_task_config()})]).document
    except ConfigError as exc:
        return {"refused": str(exc)}
    config = config_from_dict(document)
    (labourer,) = config.labourers
    client = Recording(case.datapoints)
    reader = CloudWatchMetrics(client).for_tick(NOW)
    status = labourer_status(labourer.health_metrics, [reader.value(m) for m in labourer.health_metrics])
    desired = desired_invocations(labourer.max_simultaneous_invocations, status,
                                  config.orchestrator.status_coefficients, case.running)
    return {"status": status, "desired": desired, "requests": client.requests}


def _request_key(request: dict[str, Any]) -> str:
    """A request as both sides can state it: the window in seconds, dimensions as a set."""
    window = request.get("window_seconds")
    if window is None:
        window = (request["EndTime"] - request["StartTime"]).total_seconds()
    dimensions = sorted((d["Name"], d["Value"]) for d in request.get("Dimensions", []))
    return json.dumps([request["Namespace"], request["MetricName"], dimensions, request["Period"],
                       request["Statistics"], window])


def verdict(case: Case, ours: dict[str, Any], sosw: dict[str, Any]) -> str:
    details = [m["details"] for m in case.labourer.get("health_metrics", {}).values()]
    if "refused" in ours:
        if "feelings" not in ours["refused"]:
            raise AssertionError(f"{case.name}: we refused ({ours['refused']}), sosw gave {sosw}")
        return REFUSED
    crash = sosw.get("crash")
    if crash is None:
        # as sets: sosw 0.7 cached by the written details, so a metric written with and one without
        # its default Period made the same request twice; sosw-core caches by the request itself
        ours_requests = sorted(set(map(_request_key, ours["requests"])))
        theirs = sorted(set(map(_request_key, sosw["requests"])))
        if (ours["status"], ours["desired"], ours_requests) == (sosw["status"], sosw["desired"], theirs):
            return SAME
        raise AssertionError(f"{case.name}: ours {ours['status']}/{ours['desired']} {ours_requests}, "
                             f"sosw {sosw['status']}/{sosw['desired']} {theirs}\ncase: {case}")
    if crash.startswith(("StatisticsError", "ValueError: max() arg", "ValueError: min() arg")) and any(
            not case.datapoints.get(d["MetricName"]) for d in details):
        return NO_DATA
    if crash.startswith("KeyError") and any(d.get("Statistics", [""])[0] in ("Sum", "SampleCount") for d in details):
        return SUM_COUNT
    if crash.startswith("ValueError: Order of values"):
        return ORDER_CHECK  # our config loaded, so the feelings are in a valid order
    raise AssertionError(f"{case.name}: sosw 0.7.51 crashed ({crash}), we gave {ours}\ncase: {case}")


def compare(cases: list[Case]) -> Counter[str]:
    verdicts: Counter[str] = Counter()
    mismatches = []
    for case, sosw in zip(cases, run_sosw07(cases), strict=True):
        try:
            verdicts[verdict(case, run_ours(case), sosw)] += 1
        except AssertionError as exc:
            mismatches.append(str(exc))
    print(f"\n{len(cases)} health cases: {dict(verdicts)}", file=sys.stderr)
    assert not mismatches, f"{len(mismatches)} mismatches:\n\n" + "\n\n".join(mismatches[:10])
    return verdicts


def test_sosw07_samples_and_random_cases_give_the_same_health():
    named = sosw_cases()
    rng = random.Random(13)
    cases = named + [random_case(rng, number) for number in range(RANDOM_CASES)]
    results = run_sosw07(cases[:len(named)])
    by_name = {case.name: result for case, result in zip(named, results, strict=True)}
    # what the issue states about sosw 0.7.51, seen in the real package before comparing with it
    assert by_name["test_ecology sample: mean 53.6, status 0, nothing invoked"] | {"requests": None} == {
        "id": 0, "status": 0, "desired": 0, "requests": None}
    assert by_name["a labourer without max_simultaneous_invocations"]["desired"] == 1

    verdicts = compare(cases)
    assert verdicts[SAME] >= 300  # the bulk is compared value for value, not explained away
    assert set(verdicts) <= {SAME, NO_DATA, SUM_COUNT, ORDER_CHECK, REFUSED}

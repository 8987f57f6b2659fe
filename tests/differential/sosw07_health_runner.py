"""Runs health cases through the real sosw 0.7.51; started by ``test_health_parity.py``.

Run with ``.venv-sosw07/bin/python`` (it imports sosw, never sosw_core). Reads one case per line
on stdin, ``{"id", "task_config", "datapoints", "running"}``: ``task_config`` is a sosw 0.7
``task_config`` as its config table gives it (decoded JSON, so string keys), with one labourer;
``datapoints`` maps a MetricName to the values CloudWatch returns for it; ``running`` is the
count of running tasks. Writes one line per case:
``{"id", "status", "desired", "requests"}`` (``requests``: each GetMetricStatistics call, its
window in seconds instead of Start/EndTime) or ``{"id", "crash": "<type>: <message>"}``.

The path is sosw's own: ``TaskManager.register_labourers`` (which sets the labourer's
``max_simultaneous_invocations`` with its fallbacks and its health), then
``EcologyManager.get_labourer_status`` and ``Orchestrator.get_desired_invocation_number_for_labourer``.
Only what needs AWS is replaced: the three are made with ``__new__`` (their constructors create
boto3 clients), the CloudWatch client answers from the case, the Lambda timeout and the average
duration are fixed, and the count of running tasks is the case's.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import sys

from sosw.components.helpers import recursive_update
from sosw.managers.ecology import EcologyManager
from sosw.managers.task import TaskManager
from sosw.orchestrator import Orchestrator


class CloudWatch:
    """Answers GetMetricStatistics with the case's values, as CloudWatch shapes them."""

    def __init__(self, datapoints: dict[str, list[float]]):
        self.datapoints = datapoints
        self.requests: list[dict] = []

    def get_metric_statistics(self, **params) -> dict:
        request = {key: value for key, value in params.items() if key not in ("StartTime", "EndTime")}
        request["window_seconds"] = (params["EndTime"] - params["StartTime"]).total_seconds()
        self.requests.append(request)
        statistic = params["Statistics"][0]
        start = datetime.datetime(2019, 5, 13, 14, 0, tzinfo=datetime.UTC)
        return {"Label": params["MetricName"], "Datapoints": [
            {"Timestamp": start + datetime.timedelta(minutes=n), statistic: value, "Unit": "None"}
            for n, value in enumerate(self.datapoints.get(params["MetricName"], []))]}


def run(case: dict) -> dict:
    cloudwatch = CloudWatch(case["datapoints"])
    ecology = EcologyManager.__new__(EcologyManager)
    ecology.config = recursive_update(copy.deepcopy(EcologyManager.DEFAULT_CONFIG),
                                      case["task_config"].get("ecology_config") or {})
    ecology.cloudwatch_client = cloudwatch
    ecology.get_max_labourer_duration = lambda labourer: 900
    ecology.get_labourer_average_duration = lambda labourer: 0

    manager = TaskManager.__new__(TaskManager)
    manager.config = recursive_update(copy.deepcopy(TaskManager.DEFAULT_CONFIG), case["task_config"])
    manager.ecology_client = ecology
    manager.get_count_of_running_tasks_for_labourer = lambda labourer: case["running"]

    orchestrator = Orchestrator.__new__(Orchestrator)
    orchestrator.config = copy.deepcopy(Orchestrator.DEFAULT_CONFIG)
    orchestrator.task_client = manager
    try:
        (labourer,) = manager.register_labourers()
        status = ecology.get_labourer_status(labourer)
        desired = orchestrator.get_desired_invocation_number_for_labourer(labourer)
    except Exception as exc:  # noqa: BLE001 - every crash of sosw is a result of the case
        return {"crash": f"{type(exc).__name__}: {exc}", "requests": cloudwatch.requests}
    return {"status": status, "desired": desired, "requests": cloudwatch.requests}


def main() -> None:
    logging.disable(logging.CRITICAL)  # sosw logs every step at INFO on the root logger
    for line in sys.stdin:
        case = json.loads(line)
        print(json.dumps({"id": case["id"], **run(case)}), flush=True)


if __name__ == "__main__":
    main()

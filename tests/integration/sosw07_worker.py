"""A sosw 0.7 worker written as sosw 0.7 teaches; run ONLY by ``.venv-sosw07/bin/python``.

``test_sosw07_workers.py`` runs this file as a Lambda would run one invocation: the event on
stdin, sosw's own ``get_lambda_handler`` and ``Worker`` (sosw 0.7.51, unchanged) doing the rest.
sosw's Worker reports with its own boto3 Lambda client; the test points that client (through
boto3's standard ``AWS_ENDPOINT_URL_LAMBDA``) at a local stand-in of the Lambda Invoke API that
hands each report to sosw-core's WorkerAssistant.

What the worker does is named by its payload's ``kind``; every run first records itself in the
DynamoDB table ``RUNS_TABLE`` (one row per run), so the test counts how often each task ran:

* ``complete``: sets a result and a stat, then ``super().__call__(event)`` (which marks the task
  completed: sosw 0.7's normal ending);
* ``fail``: sets a stat and calls ``self.mark_task_as_failed(task_id)`` (not ``super()``);
* ``raise``: raises, as a worker with a bug does; sosw's Worker sends nothing then.

The event sosw-core sent is echoed on stdout (one JSON line, ``{"event": ...}``), so the test
can check that the worker saw sosw 0.7's fields.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import boto3
from sosw.app import LambdaGlobals, get_lambda_handler
from sosw.worker import Worker


class ReportWorker(Worker):
    def __call__(self, event):
        boto3.client("dynamodb").put_item(TableName=os.environ["RUNS_TABLE"], Item={
            "run_id": {"S": uuid.uuid4().hex}, "task_id": {"S": event["task_id"]},
            "attempts": {"N": str(event["attempts"])}})
        kind = event["kind"]
        if kind == "raise":
            raise ValueError(f"cannot process {event['task_id']}")
        self.stats["rows_processed"] += event["rows"]
        if kind == "fail":
            self.mark_task_as_failed(event["task_id"])
            return None
        self.result["rows"] = event["rows"]
        super().__call__(event)
        return self.result


class Context:
    """What sosw reads from a Lambda context."""

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
    aws_request_id = uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


global_vars = LambdaGlobals()
lambda_handler = get_lambda_handler(ReportWorker, global_vars)

if __name__ == "__main__":
    event = json.loads(sys.stdin.read())
    print(json.dumps({"event": event}), flush=True)
    lambda_handler(event, Context())

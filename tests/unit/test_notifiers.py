"""Dead-task notifiers (SNS on moto, log, memory) and the JSON log format they are read in."""

from __future__ import annotations

import json
import logging
import sys

import boto3
import pytest
from moto import mock_aws

from sosw_core.adapters.notifiers import DeadTaskAlert, LogNotifier, MemoryNotifier, SnsNotifier
from sosw_core.adapters.notifiers.sns import SNS_MESSAGE_LIMIT, SUBJECT_LIMIT, subject_for
from sosw_core.logging_json import JsonFormatter, setup_lambda_logging


def alert(i: int, labourer_id: str = "w", message: str = "boom") -> DeadTaskAlert:
    return DeadTaskAlert(task_id=f"t-{i:05d}", labourer_id=labourer_id, attempts=3,
                         error_type="ValueError", error_message=message)


@pytest.fixture
def topic():
    """An SNS topic with an SQS queue subscribed; yields (sns client, topic arn, read_all)."""
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        arn = sns.create_topic(Name="sosw-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

        def read_all() -> list[dict]:
            """Every SNS notification delivered so far: {"Subject", "Message" (parsed)}."""
            out = []
            while True:
                got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    return out
                for message in got:
                    envelope = json.loads(message["Body"])
                    out.append({"Subject": envelope.get("Subject"),
                                "Message": json.loads(envelope["Message"]), "size": len(envelope["Message"])})
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        yield sns, arn, read_all


def test_one_publish_per_batch_naming_tasks_and_labourer(topic):
    sns, arn, read_all = topic
    SnsNotifier(sns, arn).notify_dead([alert(1), alert(2, message="KeyError: 'id'")])
    [note] = read_all()
    assert note["Subject"] == "sosw-core: 2 dead tasks (w)"
    body = note["Message"]
    assert body["alert"] == "dead_tasks" and body["count"] == 2 and (body["part"], body["parts"]) == (1, 1)
    assert body["tasks"] == [
        {"task_id": "t-00001", "labourer_id": "w", "attempts": 3, "error_type": "ValueError",
         "error_message": "boom"},
        {"task_id": "t-00002", "labourer_id": "w", "attempts": 3, "error_type": "ValueError",
         "error_message": "KeyError: 'id'"}]


def test_big_batches_are_split_under_the_sns_limit(topic):
    sns, arn, read_all = topic
    alerts = [alert(i, labourer_id=f"lab-{i % 3}", message="e" * 5000) for i in range(700)]
    SnsNotifier(sns, arn).notify_dead(alerts)
    notes = read_all()
    assert len(notes) > 1
    assert all(n["size"] <= SNS_MESSAGE_LIMIT for n in notes)
    assert {n["Message"]["parts"] for n in notes} == {len(notes)}
    assert sorted(n["Message"]["part"] for n in notes) == list(range(1, len(notes) + 1))
    sent = [t["task_id"] for n in notes for t in n["Message"]["tasks"]]
    assert sorted(sent) == [a.task_id for a in alerts]  # every task once, none lost
    assert all(len(t["error_message"]) == 1000 for n in notes for t in n["Message"]["tasks"])


def test_an_empty_batch_publishes_nothing(topic):
    sns, arn, read_all = topic
    SnsNotifier(sns, arn).notify_dead([])
    assert read_all() == []


def test_a_failed_publish_is_raised():
    with mock_aws():
        sns = boto3.client("sns")
        missing = "arn:aws:sns:us-east-1:123456789012:nope"
        with pytest.raises(sns.exceptions.NotFoundException):
            SnsNotifier(sns, missing).notify_dead([alert(1)])


def test_subject_is_short_printable_ascii():
    alerts = [alert(i, labourer_id=f"labourer-with-a-long-name-{i}") for i in range(20)]
    alerts.append(alert(99, labourer_id="étoile\nnext"))
    subject = subject_for(alerts)
    assert len(subject) <= SUBJECT_LIMIT
    assert all(32 <= ord(c) < 127 for c in subject)
    assert subject_for([alert(1)]) == "sosw-core: 1 dead task (w)"


def test_memory_notifier_keeps_batches():
    notifier = MemoryNotifier()
    notifier.notify_dead([alert(1), alert(2)])
    notifier.notify_dead([alert(3)])
    assert [len(b) for b in notifier.batches] == [2, 1]
    assert [a.task_id for a in notifier.alerts] == ["t-00001", "t-00002", "t-00003"]


def test_log_notifier_writes_one_warning_per_batch_as_json(caplog):
    with caplog.at_level(logging.WARNING, logger="sosw_core.adapters.notifiers.local"):
        LogNotifier().notify_dead([alert(1), alert(2, labourer_id="v")])
    [record] = caplog.records
    line = json.loads(JsonFormatter("svc").format(record))
    assert line["level"] == "WARNING" and line["task_ids"] == ["t-00001", "t-00002"]
    assert line["labourers"] == ["v", "w"] and "boom" not in json.dumps(line)


# -- JSON log lines ----------------------------------------------------------------------------------
def _record(msg="done %s", args=("x",), exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("sosw_core.services.assistant", logging.INFO, __file__, 10, msg, args, exc_info,
                               func="handle")
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_have_the_powertools_shape_and_the_extra_fields():
    line = json.loads(JsonFormatter("sosw_worker_assistant").format(
        _record(task_id="t-1", labourer_id="w", job_id="j-1", odd=object())))
    assert line["level"] == "INFO" and line["message"] == "done x"
    assert line["service"] == "sosw_worker_assistant" and line["logger"] == "sosw_core.services.assistant"
    assert line["location"] == "handle:10" and line["timestamp"].endswith("Z")
    assert (line["task_id"], line["labourer_id"], line["job_id"]) == ("t-1", "w", "j-1")
    assert line["odd"].startswith("<object")
    assert "args" not in line and "msecs" not in line


def test_json_lines_carry_exceptions():
    try:
        raise KeyError("id")
    except KeyError:
        line = json.loads(JsonFormatter().format(_record(exc_info=sys.exc_info())))
    assert line["exception_name"] == "KeyError" and "Traceback" in line["exception"]


def test_setup_puts_the_formatter_on_the_root_handlers(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_powertools(name, *args, **kwargs):
        if name.startswith("aws_lambda_powertools"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_powertools)
    root = logging.getLogger()
    handler = logging.StreamHandler()
    saved = root.handlers[:], root.level
    root.handlers = [handler]
    try:
        assert setup_lambda_logging("svc") is root
        assert isinstance(handler.formatter, JsonFormatter) and handler.formatter.service == "svc"
        setup_lambda_logging("svc")
        assert root.handlers == [handler]  # a second call adds nothing
    finally:
        root.handlers, level = saved
        root.setLevel(level)

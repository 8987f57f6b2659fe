"""bench.meter and bench.fake_aws on moto: DynamoDB requests counted, other AWS calls faked."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from bench.fake_aws import FakeAws
from bench.meter import Meter, UnexpectedAwsCall, capacity_units, report

AWS_DYNAMODB = "https://dynamodb.us-east-1.amazonaws.com"  # moto intercepts it; nothing leaves the process


@pytest.fixture
def meter():
    fakes = FakeAws(function_timeout_seconds=42)
    meter = Meter(AWS_DYNAMODB, fakes)
    meter.install()
    try:
        with mock_aws():
            yield meter
    finally:
        meter.uninstall()


def test_capacity_units_of_single_and_list():
    assert capacity_units(None) == 0.0
    assert capacity_units({"TableName": "t", "CapacityUnits": 2.0}) == 2.0
    assert capacity_units([{"CapacityUnits": 1.5}, {"CapacityUnits": 1.0}]) == 2.5


def test_counts_dynamodb_requests_only_while_active(meter):
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    meter.start()
    for i in range(3):
        client.put_item(TableName="t", Item={"pk": {"S": str(i)}})
    client.get_item(TableName="t", Key={"pk": {"S": "1"}})
    meter.stop()
    client.get_item(TableName="t", Key={"pk": {"S": "2"}})

    assert dict(meter.requests) == {"PutItem": 3, "GetItem": 1}
    assert meter.total_requests == 4
    assert meter.write_units >= 3.0  # ReturnConsumedCapacity was added for us
    line = report("w", 3, 2.0, meter)
    assert line["requests_per_task"] == pytest.approx(4 / 3, abs=0.001)
    assert line["tasks_per_s"] == 1.5


def test_other_services_are_faked_and_recorded(meter):
    meter.start()
    lam = boto3.client("lambda", region_name="us-east-1")
    response = lam.invoke(FunctionName="worker", InvocationType="Event", Payload=json.dumps({"task_id": "a"}))
    assert response["StatusCode"] == 202
    assert lam.get_function_configuration(FunctionName="arn:aws:lambda:us-east-1:0:function:w")["Timeout"] == 42
    glue = boto3.client("glue", region_name="us-east-1")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName="ddb_tables", Name="t")
    cloudwatch = boto3.Session(region_name="us-west-2").client("cloudwatch")  # a fresh session too
    stats = cloudwatch.get_metric_statistics(Namespace="AWS/RDS", MetricName="CPUUtilization",
                                             StartTime="2025-01-01", EndTime="2025-01-02", Period=60,
                                             Statistics=["Average"])
    assert stats["Datapoints"][0]["Average"] == 10.0

    invokes = meter.fakes.take_invokes()
    assert [(i.function_name, i.payload) for i in invokes] == [("worker", {"task_id": "a"})]
    assert meter.fakes.take_invokes() == []
    assert dict(meter.other_calls) == {"lambda.Invoke": 1, "lambda.GetFunctionConfiguration": 1,
                                       "glue.GetTable": 1, "cloudwatch.GetMetricStatistics": 1}
    with pytest.raises(NotImplementedError):
        boto3.client("sqs", region_name="us-east-1").list_queues()


def test_without_fakes_other_services_raise():
    meter = Meter(AWS_DYNAMODB)
    meter.install()
    try:
        with mock_aws(), pytest.raises(UnexpectedAwsCall):
            boto3.client("sns", region_name="us-east-1").list_topics()
    finally:
        meter.uninstall()


def test_dynamodb_elsewhere_than_the_endpoint_raises():
    meter = Meter("http://127.0.0.1:1")
    meter.install()
    try:
        with mock_aws(), pytest.raises(UnexpectedAwsCall):
            boto3.client("dynamodb", region_name="us-east-1").list_tables()
    finally:
        meter.uninstall()

"""Invokers: the local thread-pool stand-in for Lambda, and the Lambda adapter on a stub client."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from sosw_core.adapters.invokers import ASYNC_PAYLOAD_LIMIT, InvokeError, LambdaInvoker, LocalInvoker

WAIT = 60.0  # a safety net for waits on other threads, not a speed check: they return at the event


@pytest.fixture
def make_local():
    invokers: list[LocalInvoker] = []

    def make(handlers, **kwargs) -> LocalInvoker:
        invoker = LocalInvoker(handlers, **kwargs)
        invokers.append(invoker)
        return invoker

    yield make
    for invoker in invokers:
        invoker.shutdown(wait=False)


def oversize_event() -> dict:
    return {"blob": "x" * ASYNC_PAYLOAD_LIMIT}


# -- LocalInvoker ----------------------------------------------------------------------------------
def test_invoke_returns_before_the_handler_finishes(make_local):
    release, finished = threading.Event(), threading.Event()

    def handler(event, context):
        assert release.wait(WAIT), "the test never released the handler"
        finished.set()

    invoker = make_local({"fn": handler})
    invoker.invoke("fn", {"task_id": "t-1"})
    assert not finished.is_set() and invoker.pending() == 1  # accepted, still running
    assert invoker.wait_idle(0.05) is False
    release.set()
    assert invoker.wait_idle(WAIT) is True
    assert finished.is_set() and invoker.invocations == 1 and invoker.completed == 1


def test_handler_sees_exactly_what_lambda_would_deliver(make_local):
    seen = []
    invoker = make_local({"fn": lambda event, context: seen.append(event)})
    event = {"task_id": "t-1", "pair": (1, 2), "nested": {"k": [1.5, None, True]}}
    invoker.invoke("fn", event)
    event["nested"]["k"].append("changed after invoke")
    assert invoker.wait_idle(WAIT)
    assert seen == [{"task_id": "t-1", "pair": [1, 2], "nested": {"k": [1.5, None, True]}}]
    assert seen[0] is not event


def test_unknown_function_is_not_accepted(make_local):
    invoker = make_local({"fn": lambda e, c: None})
    with pytest.raises(InvokeError) as info:
        invoker.invoke("nope", {})
    assert info.value.function_name == "nope" and "no such function" in info.value.reason
    assert invoker.invocations == 0


def test_oversize_payload_is_not_accepted(make_local):
    ran = []
    invoker = make_local({"fn": lambda e, c: ran.append(e)})
    with pytest.raises(InvokeError, match="limit"):
        invoker.invoke("fn", oversize_event())
    assert invoker.wait_idle(1) and ran == [] and invoker.invocations == 0


def test_handler_errors_are_counted_and_logged_with_the_task_id(make_local, caplog):
    def handler(event, context):
        raise RuntimeError("worker crashed")

    invoker = make_local({"fn": handler})
    with caplog.at_level(logging.ERROR, logger="sosw_core.adapters.invokers.local"):
        invoker.invoke("fn", {"task_id": "t-9"})
        assert invoker.wait_idle(WAIT)
    assert invoker.errors == 1 and invoker.completed == 0
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.task_id == "t-9" and record.exc_info[0] is RuntimeError


def test_a_kill_is_logged_but_not_an_error(make_local, caplog):
    class Killed(BaseException):
        pass

    def handler(event, context):
        raise Killed()

    invoker = make_local({"fn": handler})
    invoker.invoke("fn", {"task_id": "t-1"})
    assert invoker.wait_idle(WAIT)
    assert invoker.errors == 0 and invoker.completed == 0
    assert any("Killed" in r.getMessage() for r in caplog.records)


def test_context_knows_its_function_and_remaining_time(make_local):
    seen = {}

    def handler(event, context):
        seen.update(name=context.function_name, request=context.aws_request_id,
                    remaining=context.get_remaining_time_in_millis())

    # a timeout long enough that a handler started late on a loaded machine still has time left
    invoker = make_local({"fn": handler, "other": handler}, timeouts={"fn": 120.0})
    invoker.invoke("fn", {})
    assert invoker.wait_idle(WAIT)
    assert seen["name"] == "fn" and 0 < seen["remaining"] <= 120_000 and seen["request"]
    invoker.invoke("other", {})
    assert invoker.wait_idle(WAIT)
    assert seen["name"] == "other" and 120_000 < seen["remaining"] <= 900_000


def test_a_function_with_a_timeout_stops_at_its_lease_end(make_local):
    seen = {}
    invoker = make_local({"fn": lambda e, c: seen.update(ms=c.get_remaining_time_in_millis())},
                         timeouts={"fn": 600.0})
    invoker.invoke("fn", {"task_id": "t", "sosw_core": {"deadline_at": time.time() + 60.0}})
    assert invoker.wait_idle(WAIT)
    assert 0 < seen["ms"] <= 60_000  # the lease end, well before the function's 600 s timeout


def test_parallel_handlers_run_at_once(make_local):
    barrier = threading.Barrier(4, timeout=WAIT)
    invoker = make_local({"fn": lambda e, c: barrier.wait()}, max_workers=4)
    for i in range(4):
        invoker.invoke("fn", {"task_id": f"t-{i}"})
    assert invoker.wait_idle(WAIT) and invoker.completed == 4 and invoker.errors == 0


def test_after_shutdown_nothing_is_accepted(make_local):
    invoker = make_local({"fn": lambda e, c: None})
    invoker.shutdown()
    with pytest.raises(InvokeError, match="shut down"):
        invoker.invoke("fn", {})


def test_shutdown_without_wait_drops_queued_runs_and_goes_idle(make_local):
    started, release = threading.Event(), threading.Event()

    def handler(event, context):
        started.set()
        assert release.wait(WAIT), "the test never released the handler"

    invoker = make_local({"fn": handler}, max_workers=1)
    invoker.invoke("fn", {})
    # the pool's thread takes the first run off its queue only when the scheduler lets it: wait
    # for that, or the shutdown below may drop the first run too
    assert started.wait(WAIT)
    for _ in range(2):
        invoker.invoke("fn", {})
    invoker.shutdown(wait=False)
    release.set()
    assert invoker.wait_idle(WAIT) and invoker.completed == 1


# -- LambdaInvoker on a stub client ----------------------------------------------------------------
class StubLambda:
    """Records invoke calls; answers with ``status`` or raises ``error``."""

    def __init__(self, status: int = 202, error: Exception | None = None):
        self.status, self.error = status, error
        self.calls: list[dict] = []

    def invoke(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return {"StatusCode": self.status}


def test_lambda_invoke_is_asynchronous_and_carries_the_event_as_json():
    client = StubLambda()
    LambdaInvoker(client).invoke("worker-fn", {"task_id": "t-1", "n": [1, 2]})
    [call] = client.calls
    assert call["FunctionName"] == "worker-fn" and call["InvocationType"] == "Event"
    assert json.loads(call["Payload"]) == {"task_id": "t-1", "n": [1, 2]}


def test_lambda_oversize_payload_fails_before_any_request():
    client = StubLambda()
    with pytest.raises(InvokeError, match="async invoke limit"):
        LambdaInvoker(client).invoke("fn", oversize_event())
    assert client.calls == []


def test_lambda_payload_at_the_limit_is_sent():
    client = StubLambda()
    filler = "x" * (ASYNC_PAYLOAD_LIMIT - len(json.dumps({"b": ""}, separators=(",", ":"))))
    LambdaInvoker(client).invoke("fn", {"b": filler})
    assert len(client.calls[0]["Payload"]) == ASYNC_PAYLOAD_LIMIT


def test_lambda_status_other_than_202_is_not_accepted():
    with pytest.raises(InvokeError, match="status 200"):
        LambdaInvoker(StubLambda(status=200)).invoke("fn", {})


def test_lambda_client_error_is_an_invoke_error_with_the_reason():
    error = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
    with pytest.raises(InvokeError) as info:
        LambdaInvoker(StubLambda(error=error)).invoke("fn", {})
    assert info.value.reason == "TooManyRequestsException: Rate exceeded"


def test_lambda_unreachable_is_an_invoke_error():
    error = EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")
    with pytest.raises(InvokeError, match="cannot reach"):
        LambdaInvoker(StubLambda(error=error)).invoke("fn", {})


def test_lambda_read_timeout_is_not_an_invoke_error():
    """The request was sent and may have been accepted: the orchestrator must not release it."""
    error = ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com")
    with pytest.raises(ReadTimeoutError):
        LambdaInvoker(StubLambda(error=error)).invoke("fn", {})

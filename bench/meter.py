"""Count DynamoDB requests and consumed capacity at the botocore layer; fake every other AWS call.

Shared by both sides of the benchmark (it needs botocore only, so it runs in our venv and in
the sosw 0.7.51 venv alike). ``install()`` wraps ``botocore.session.Session.create_client`` so that
every client created afterwards, by boto3, pynamodb or a fresh ``boto3.Session``, is metered:

- ``request-created.dynamodb``: one count per HTTP attempt (retries included), by operation;
  the request must go to the DynamoDB Local endpoint, anything else raises.
- ``provide-client-params.dynamodb``: adds ``ReturnConsumedCapacity=INDEXES`` where the
  operation accepts it.
- ``after-call.dynamodb``: sums ``CapacityUnits`` (table and indexes) as read or write units.
- ``before-call.<other service>``: answered by ``fakes`` (see ``bench.fake_aws``) and recorded; with
  no fakes such a call raises, so nothing reaches AWS.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import botocore.session

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                              "TransactWriteItems"})

# (service, operation, params) -> (http response, parsed response), as botocore's before-call expects.
Fake = Callable[[str, str, dict[str, Any]], tuple[Any, dict[str, Any]]]


class UnexpectedAwsCall(RuntimeError):
    """A client tried to reach something other than DynamoDB Local."""


def capacity_units(consumed: dict[str, Any] | list[dict[str, Any]] | None) -> float:
    """Total ``CapacityUnits`` of a ``ConsumedCapacity`` value (one dict, or a list for batches)."""
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get("CapacityUnits", 0.0) for entry in entries))


class Meter:
    """Counters for one process; ``active`` gates counting so set-up traffic stays out."""

    def __init__(self, endpoint: str, fakes: Fake | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.fakes = fakes
        self.active = False
        self.requests: Counter[str] = Counter()
        self.other_calls: Counter[str] = Counter()
        self.read_units = 0.0
        self.write_units = 0.0
        self._lock = threading.Lock()
        self._original_create_client: Callable[..., Any] | None = None

    # -- installation -------------------------------------------------------------------------
    def install(self) -> None:
        """Meter every botocore client created from now on (idempotent per process)."""
        if self._original_create_client is not None:
            return
        original = botocore.session.Session.create_client
        meter = self

        def create_client(session: botocore.session.Session, service_name: str, *args: Any,
                          **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            meter.attach(client)
            return client

        self._original_create_client = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original_create_client is not None:
            botocore.session.Session.create_client = self._original_create_client  # type: ignore[method-assign]
            self._original_create_client = None

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        if service == "dynamodb":
            events.register("provide-client-params.dynamodb", self._add_consumed_capacity)
            events.register("request-created.dynamodb", self._count_request)
            events.register("after-call.dynamodb", self._sum_capacity)
        else:
            events.register(f"provide-client-params.{service}", self._keep_params)
            events.register(f"before-call.{service}", self._fake_call)

    # -- handlers -----------------------------------------------------------------------------
    def _add_consumed_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")

    def _count_request(self, request: Any, operation_name: str, **_: Any) -> None:
        if not request.url.startswith(self.endpoint):
            raise UnexpectedAwsCall(f"DynamoDB request to {request.url}, expected {self.endpoint}")
        if self.active:
            with self._lock:
                self.requests[operation_name] += 1

    def _sum_capacity(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active:
            return
        units = capacity_units(parsed.get("ConsumedCapacity"))
        with self._lock:
            if model.name in READ_OPERATIONS:
                self.read_units += units
            elif model.name in WRITE_OPERATIONS:
                self.write_units += units

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_api_params"] = dict(params)  # before-call only sees the serialized request

    def _fake_call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        service = model.service_model.service_id.hyphenize()
        if self.fakes is None:
            raise UnexpectedAwsCall(f"{service}.{model.name} would reach AWS; no fake installed")
        if self.active:
            with self._lock:
                self.other_calls[f"{service}.{model.name}"] += 1
        return self.fakes(service, model.name, context.get("bench_api_params", {}))

    # -- reading ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.other_calls.clear()
            self.read_units = 0.0
            self.write_units = 0.0

    def start(self) -> None:
        self.reset()
        self.active = True

    def stop(self) -> None:
        self.active = False

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def report(workload: str, tasks: int, seconds: float, meter: Meter, **extra: Any) -> dict[str, Any]:
    """The one-line JSON shape every workload script prints (see bench/ours/README.md)."""
    per = max(tasks, 1)
    line: dict[str, Any] = {
        "workload": workload,
        "tasks": tasks,
        "seconds": round(seconds, 3),
        "tasks_per_s": round(tasks / seconds, 2) if tasks and seconds > 0 else None,
        "requests": dict(sorted(meter.requests.items())),
        "requests_per_task": round(meter.total_requests / per, 3) if tasks else None,
        "write_units_per_task": round(meter.write_units / per, 3) if tasks else None,
        "read_units_per_task": round(meter.read_units / per, 3) if tasks else None,
        "total_requests": meter.total_requests,
        "write_units": round(meter.write_units, 2),
        "read_units": round(meter.read_units, 2),
    }
    if meter.other_calls:
        line["other_calls"] = dict(sorted(meter.other_calls.items()))
    line.update(extra)
    return line

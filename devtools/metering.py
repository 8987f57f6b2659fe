"""Count DynamoDB requests and consumed capacity, per operation, at the botocore layer.

Used by the budget tests and the benchmarks: it counts what really goes over the wire
(retries included), not what the code believes it sent.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from sosw_core.adapters.dynamodb.models import Models

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                              "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


@dataclass
class RequestMeter:
    """Attach to the botocore clients behind ``models``; detach when done (or use ``with``)."""

    models: Models
    capacity: bool = False  # ask for ReturnConsumedCapacity=INDEXES on every request
    requests: Counter = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: list = field(default_factory=list)


    def _add_capacity_param(self, params, model, **kwargs) -> None:
        if model.name in READ_OPERATIONS | WRITE_OPERATIONS and model.name != "TransactGetItems":
            params["ReturnConsumedCapacity"] = "INDEXES"

    def _after(self, parsed, model, **kwargs) -> None:
        consumed = parsed.get("ConsumedCapacity")
        if consumed is None:
            return
        entries = consumed if isinstance(consumed, list) else [consumed]
        with self._lock:
            for entry in entries:
                units = float(entry.get("CapacityUnits", 0.0))
                if model.name in WRITE_OPERATIONS:
                    self.write_units += units
                else:
                    self.read_units += units

    def attach(self) -> RequestMeter:
        for m in self.models.connected:
            client = m._get_connection().connection.client
            if client in self._clients:
                continue
            self._clients.append(client)
            # request-created fires once per HTTP attempt: botocore's retries are counted too
            client.meta.events.register("request-created.dynamodb", self._before)
            if self.capacity:
                client.meta.events.register("provide-client-params.dynamodb", self._add_capacity_param)
                client.meta.events.register("after-call.dynamodb", self._after)
        return self

    def _before(self, request, operation_name, **kwargs) -> None:
        with self._lock:
            self.requests[operation_name] += 1

    def detach(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("request-created.dynamodb", self._before)
            client.meta.events.unregister("provide-client-params.dynamodb", self._add_capacity_param)
            client.meta.events.unregister("after-call.dynamodb", self._after)
        self._clients.clear()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.write_units = self.read_units = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.requests.items() if op in WRITE_OPERATIONS)

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.requests.items() if op in READ_OPERATIONS)

    def __enter__(self) -> RequestMeter:
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()

"""Fault injection at the botocore layer: DynamoDB answers "throttled" to some requests.

The injected response is a real HTTP 400 with DynamoDB's throttling error body, so botocore's
retry logic, pynamodb and our code see exactly what AWS would send. Every model class of the
store is covered (each pynamodb model has its own connection and botocore client), including
those that share a table, such as the dispatch leases kept in the jobs table.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse

from sosw_core.adapters.dynamodb.models import Models

THROTTLE_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")


class _RawBody:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **kwargs):
        yield self._data

    def read(self, *args, **kwargs) -> bytes:
        return self._data


def model_classes(models: Models) -> list[type]:
    """Every model class a :class:`Models` holds (whatever fields it grows)."""
    classes: list[type] = []
    for f in dataclasses.fields(models):
        value = getattr(models, f.name)
        if isinstance(value, type) and hasattr(value, "_get_connection") and value not in classes:
            classes.append(value)
    return classes


@dataclass
class ThrottleInjector:
    """Throttle a fraction of DynamoDB requests (``rate``) or the first ``first_n`` of them.

    ``seen`` counts the requests looked at (retries included), ``injected`` the throttles sent
    back, ``by_operation`` the throttles per DynamoDB operation (``UpdateItem``, ...).
    """

    models: Models
    rate: float = 0.0
    first_n: int = 0
    operations: frozenset[str] | None = None  # None: every operation
    seed: int = 0
    injected: int = 0
    by_operation: Counter = field(default_factory=Counter)
    _seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: list = field(default_factory=list)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {self.rate}")
        self._rng = random.Random(self.seed)

    @property
    def seen(self) -> int:
        with self._lock:
            return self._seen

    def _before_send(self, request, **kwargs):
        operation = request.headers.get("X-Amz-Target", b"")
        operation = operation.decode() if isinstance(operation, bytes) else operation
        operation = operation.rsplit(".", 1)[-1]
        if self.operations is not None and operation not in self.operations:
            return None
        with self._lock:
            self._seen += 1
            throttle = self._seen <= self.first_n or (self.rate > 0 and self._rng.random() < self.rate)
            if not throttle:
                return None
            self.injected += 1
            self.by_operation[operation] += 1
            code = THROTTLE_CODES[self.injected % 2]
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                           "message": "injected by devtools.faults"}).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"},
                           _RawBody(body))

    def attach(self) -> ThrottleInjector:
        for model in model_classes(self.models):
            client = model._get_connection().connection.client
            if client not in self._clients:
                self._clients.append(client)
                client.meta.events.register_first("before-send.dynamodb", self._before_send)
        return self

    def detach(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-send.dynamodb", self._before_send)
        self._clients.clear()

    def __enter__(self) -> ThrottleInjector:
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()

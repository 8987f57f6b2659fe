"""Turn pynamodb/botocore failures into sosw-core errors that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from sosw_core.errors import StoreUnavailable

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELLED = "TransactionCanceledException"


def is_condition_failure(exc: PynamoDBException) -> bool:
    return exc.cause_response_code in (CONDITION_FAILED, TRANSACTION_CANCELLED)


def guarded_update(row: Model, actions: list[Action], condition: Condition) -> bool:
    """One UpdateItem of ``row`` under ``condition``: True if written (``row`` then holds the new
    item), False if the condition failed. Every other error is raised."""
    try:
        row.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def _root(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or getattr(exc, "cause", None) is not None:
        nxt = exc.__cause__ or exc.cause  # type: ignore[attr-defined]
        if nxt is exc:
            break
        exc = nxt
    return exc


@contextmanager
def dynamodb_errors(table: str, endpoint: str | None) -> Iterator[None]:
    """Re-raise "cannot reach DynamoDB" and "table missing" as one clear StoreUnavailable."""
    try:
        yield
    except PynamoDBException as exc:
        root = _root(exc)
        where = endpoint or "AWS (standard boto3 region/credential resolution)"
        if isinstance(root, EndpointConnectionError) or "Could not connect" in str(root):
            raise StoreUnavailable(
                f"cannot reach DynamoDB at {where}: start DynamoDB Local (`sosw-core local up`) "
                "or set SOSW_DYNAMODB_ENDPOINT / AWS_REGION to a reachable DynamoDB") from exc
        if exc.cause_response_code == "ResourceNotFoundException":
            raise StoreUnavailable(
                f"table {table!r} does not exist at {where}: run `sosw-core tables create`") from exc
        if isinstance(root, ClientError) and exc.cause_response_code in (
                "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"):
            raise StoreUnavailable(f"DynamoDB at {where} refused our credentials: {root}") from exc
        raise

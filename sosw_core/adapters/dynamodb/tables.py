"""Create and describe the tables from the models (the one schema source)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pynamodb.exceptions import PynamoDBConnectionError, TableError

from sosw_core.adapters.dynamodb.models import Models
from sosw_core.errors import StoreUnavailable

logger = logging.getLogger(__name__)


def create_tables(models: Models, *, wait: bool = True) -> list[str]:
    """Create every missing table (pynamodb also enables TTL on ``expires_at``); return the names created."""
    created = []
    for model in models.all:
        try:
            if model.exists():
                continue
            model.create_table(wait=wait)
        except (PynamoDBConnectionError, TableError) as exc:
            raise StoreUnavailable(
                f"cannot create table {model.Meta.table_name!r}: {exc.cause or exc}") from exc
        logger.info("created table %s", model.Meta.table_name)
        created.append(model.Meta.table_name)
    return created


def delete_tables(models: Models) -> None:
    for model in models.all:
        if model.exists():
            model.delete_table()


def table_definitions(models: Models) -> dict[str, dict[str, Any]]:
    """Each table's key schema, attribute types and indexes, as CreateTable would send them.

    Used to check that CloudFormation templates and the code describe the same tables.
    """
    definitions: dict[str, dict[str, Any]] = {}

    def keys(schema: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
        """HASH before RANGE, as CloudFormation writes them."""
        return sorted(schema, key=lambda k: k["KeyType"] != "HASH")

    for model in models.all:
        schema = model._get_schema()
        definitions[model.Meta.table_name] = {
            "KeySchema": keys(schema["key_schema"]),
            "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
            "GlobalSecondaryIndexes": sorted(
                ({"IndexName": idx["index_name"], "KeySchema": keys(idx["key_schema"]),
                  "Projection": idx["projection"]} for idx in schema["global_secondary_indexes"]),
                key=lambda i: i["IndexName"]),
            "TimeToLiveAttribute": "expires_at",
        }
    return definitions

"""Rows of the memory store, and the DynamoDB item format they are exchanged in.

A memory row is a plain ``dict`` with the same attribute names as the DynamoDB item (see
:mod:`sosw_core.adapters.dynamodb.models`) and plain Python values. The Scheduler hands its task
rows over as low-level DynamoDB items (``{"name": {"S": "..."}}``, built by the DynamoDB
adapter's ``ItemFactory``); :func:`decode_item` reads them, :func:`encode_item` writes one.

DynamoDB refuses an item larger than 400 KB; :func:`check_item_size` refuses the same rows here,
counting as DynamoDB documents it (attribute names plus values; a number by its digits; three
bytes per list or map plus one per element).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sosw_core.errors import SoswError

Row = dict[str, Any]
Item = dict[str, dict[str, Any]]  # a low-level DynamoDB item: {name: {type: value}}

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's limit for one item, names and values together


class ItemTooLarge(SoswError):
    """A write would make a row larger than DynamoDB's 400 KB item limit; nothing was written.

    On DynamoDB the same write fails with a ``ValidationException`` ("Item size has exceeded
    the maximum allowed size").
    """

    def __init__(self, key: str, size: int):
        self.key = key
        self.size = size
        super().__init__(f"item {key!r} would be {size:,} bytes; DynamoDB's maximum item size is "
                         f"{MAX_ITEM_BYTES:,} bytes (400 KB)")


def _decode(value: Mapping[str, Any]) -> Any:
    if len(value) != 1:
        raise ValueError(f"not a DynamoDB attribute value (one type tag expected): {value!r}")
    ((tag, inner),) = value.items()
    if tag == "S":
        return str(inner)
    if tag == "N":
        return json.loads(inner)  # as pynamodb's NumberAttribute reads it: int or float
    if tag == "B":
        return bytes(inner)
    if tag == "BOOL":
        return bool(inner)
    if tag == "NULL":
        return None
    if tag == "L":
        return [_decode(v) for v in inner]
    if tag == "M":
        return {k: _decode(v) for k, v in inner.items()}
    raise ValueError(f"DynamoDB type {tag!r} is not used by sosw-core items")


def decode_item(item: Mapping[str, Mapping[str, Any]]) -> Row:
    """A low-level DynamoDB item as a memory row."""
    return {name: _decode(value) for name, value in item.items()}


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": json.dumps(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, list | tuple):
        return {"L": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): _encode(v) for k, v in value.items()}}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def encode_item(row: Mapping[str, Any]) -> Item:
    """A memory row as a low-level DynamoDB item (absent attributes are left out)."""
    return {name: _encode(value) for name, value in row.items() if value is not None}


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        digits = len(repr(value).lstrip("-").replace(".", "").lstrip("0")) or 1
        return 1 + (digits + 1) // 2
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return 3 + sum(1 + _size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(str(k).encode()) + _size(v) for k, v in value.items())
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def item_size(row: Mapping[str, Any]) -> int:
    """The row's size as DynamoDB counts it against the item limit."""
    return sum(len(name.encode()) + _size(value) for name, value in row.items() if value is not None)


def check_item_size(key: str, row: Mapping[str, Any]) -> None:
    size = item_size(row)
    if size > MAX_ITEM_BYTES:
        raise ItemTooLarge(key, size)


def as_map(value: dict[str, Any], name: str) -> dict[str, Any]:
    """``value`` as DynamoDB would give it back from a map attribute (tuples become lists).

    A value that is not JSON (an object, NaN) is refused here as DynamoDB's client refuses it.
    """
    try:
        return dict(json.loads(json.dumps(value, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: cannot be stored as a DynamoDB map: {exc}") from exc

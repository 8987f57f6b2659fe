"""Typed readers for JSON-shaped config documents: each checks one value and names its key.

A reader turns one JSON value into the Python value of a dataclass field (``read``) and back
(``dump``). Every failure is a :class:`ConfigError` naming the dotted key
(``labourers[1].backoff.factor``) and the layer the value came from.

Type rules: ``bool`` is not an integer or a number; integers are accepted where a number is
expected; numbers must be finite; JSON arrays are read as tuples (a Python tuple or list is
accepted too, for overrides written in Python).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from typing import Any, Protocol

from sosw_core.errors import ConfigError

KeyPath = tuple[str | int, ...]
Check = Callable[[Any, "At"], None]  # raises ConfigError (via ``at.error``) when a value breaks a rule


def render(path: KeyPath) -> str:
    """``("labourers", 1, "backoff")`` → ``labourers[1].backoff``; the empty path is ``document``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


@dataclass(frozen=True)
class At:
    """Where a value sits: its key path, and how to tell which layer a path came from."""

    path: KeyPath
    origin: Callable[[KeyPath], str | None]

    def child(self, part: str | int) -> At:
        return At((*self.path, part), self.origin)

    def error(self, rule: str) -> ConfigError:
        return ConfigError(render(self.path), rule, self.origin(self.path))


def describe(value: Any) -> str:
    """The JSON name of a value's type, for "expected X, got Y" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


class Reader(Protocol):
    def read(self, value: Any, at: At) -> Any: ...

    def dump(self, value: Any) -> Any: ...


def _check_range(value: float, at: At, minimum: float | None, maximum: float | None,
                 above: float | None) -> None:
    if minimum is not None and value < minimum:
        raise at.error(f"must be >= {minimum}, got {value}")
    if above is not None and value <= above:
        raise at.error(f"must be > {above}, got {value}")
    if maximum is not None and value > maximum:
        raise at.error(f"must be <= {maximum}, got {value}")


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None
    above: int | None = None

    def read(self, value: Any, at: At) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise at.error(f"expected an integer, got {describe(value)}")
        _check_range(value, at, self.minimum, self.maximum, self.above)
        return value

    def dump(self, value: int) -> int:
        return value


@dataclass(frozen=True)
class Number:
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None

    def read(self, value: Any, at: At) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise at.error(f"expected a number, got {describe(value)}")
        if not math.isfinite(value):
            raise at.error(f"must be a finite number, got {value}")
        _check_range(value, at, self.minimum, self.maximum, self.above)
        return float(value)

    def dump(self, value: float) -> float:
        return value


@dataclass(frozen=True)
class Text:
    """A string; ``pattern`` must match it whole; ``min_length`` 1 means "non-empty"."""

    pattern: str | None = None
    min_length: int = 1
    max_length: int | None = None

    def read(self, value: Any, at: At) -> str:
        if not isinstance(value, str):
            raise at.error(f"expected a string, got {describe(value)}")
        if len(value) < self.min_length:
            raise at.error("must not be empty" if self.min_length == 1
                           else f"must be at least {self.min_length} characters, got {len(value)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise at.error(f"must be at most {self.max_length} characters, got {len(value)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise at.error(f"must match {self.pattern}, got {value!r}")
        return value

    def dump(self, value: str) -> str:
        return value


@dataclass(frozen=True)
class Bool:
    def read(self, value: Any, at: At) -> bool:
        if not isinstance(value, bool):
            raise at.error(f"expected true or false, got {describe(value)}")
        return value

    def dump(self, value: bool) -> bool:
        return value


@dataclass(frozen=True)
class Choice:
    """One of a str Enum's values (or of plain strings), e.g. ``lt``/``le``/``gt``/``ge``."""

    choices: type[Enum] | tuple[str, ...]

    def _values(self) -> tuple[str, ...]:
        if isinstance(self.choices, tuple):
            return self.choices
        return tuple(member.value for member in self.choices)

    def read(self, value: Any, at: At) -> Any:
        allowed = self._values()
        if not isinstance(value, str) or value not in allowed:
            raise at.error(f"expected one of {', '.join(allowed)}, got {describe(value)}")
        return value if isinstance(self.choices, tuple) else self.choices(value)

    def dump(self, value: Any) -> str:
        return value.value if isinstance(value, Enum) else value


@dataclass(frozen=True)
class Nullable:
    inner: Reader

    def read(self, value: Any, at: At) -> Any:
        return None if value is None else self.inner.read(value, at)

    def dump(self, value: Any) -> Any:
        return None if value is None else self.inner.dump(value)


@dataclass(frozen=True)
class ListOf:
    """A JSON array read as a tuple; ``length`` fixes its size; ``check`` sees the whole tuple."""

    item: Reader
    length: int | None = None
    check: Check | None = None

    def read(self, value: Any, at: At) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise at.error(f"expected an array, got {describe(value)}")
        if self.length is not None and len(value) != self.length:
            raise at.error(f"expected exactly {self.length} items, got {len(value)}")
        items = tuple(self.item.read(item, at.child(i)) for i, item in enumerate(value))
        if self.check is not None:
            self.check(items, at)
        return items

    def dump(self, value: tuple[Any, ...]) -> list[Any]:
        return [self.item.dump(item) for item in value]


@dataclass(frozen=True)
class PairsOf:
    """A JSON object read as a tuple of (key, value) pairs: insertion order, or sorted by key.

    ``key`` reads each key (always a string in JSON; ``StatusKey`` turns it into an int).
    """

    key: Reader
    value: Reader
    sort: bool = False

    def read(self, value: Any, at: At) -> tuple[tuple[Any, Any], ...]:
        if not isinstance(value, Mapping):
            raise at.error(f"expected an object, got {describe(value)}")
        pairs: dict[Any, Any] = {}
        for raw_key, raw_value in value.items():
            key = self.key.read(raw_key, at.child(str(raw_key)))
            if key in pairs:
                raise at.child(str(raw_key)).error(f"duplicate key {key!r}")
            pairs[key] = self.value.read(raw_value, at.child(str(raw_key)))
        items = tuple(pairs.items())
        return tuple(sorted(items)) if self.sort else items

    def dump(self, value: tuple[tuple[Any, Any], ...]) -> dict[str, Any]:
        return {str(self.key.dump(k)): self.value.dump(v) for k, v in value}


@dataclass(frozen=True)
class StatusKey:
    """A health status 0..4 written as an object key: ``"3"`` in JSON, ``3`` from Python."""

    def read(self, value: Any, at: At) -> int:
        if isinstance(value, str) and value.isdigit() and value.isascii():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
            raise at.error(f"status must be an integer 0..4, got {describe(value)}")
        return value

    def dump(self, value: int) -> int:
        return value


@dataclass(frozen=True)
class Obj:
    """A JSON object read into dataclass ``cls``; ``readers`` name every field it accepts.

    Unknown keys are errors; keys left out take the dataclass default; a field without a
    default is required. ``check`` runs on the built object (rules across its fields).
    ``removed`` maps keys an earlier version accepted to what to do instead: such a key is an
    error that says so, rather than a plain "unknown key".
    """

    cls: type
    readers: Mapping[str, Reader]
    check: Check | None = None
    removed: Mapping[str, str] = field(default_factory=dict)

    def read(self, value: Any, at: At) -> Any:
        if not isinstance(value, Mapping):
            raise at.error(f"expected an object, got {describe(value)}")
        for key in value:
            if key in self.removed:
                raise at.child(str(key)).error(f"no longer a setting: {self.removed[key]}")
            if key not in self.readers:
                known = ", ".join(self.readers)
                raise at.child(str(key)).error(f"unknown key; known keys here: {known}")
        kwargs = {}
        for f in fields(self.cls):
            if f.name in value:
                kwargs[f.name] = self.readers[f.name].read(value[f.name], at.child(f.name))
            elif f.default is MISSING and f.default_factory is MISSING:
                raise at.child(f.name).error("required key is missing")
        built = self.cls(**kwargs)
        if self.check is not None:
            self.check(built, at)
        return built

    def dump(self, value: Any) -> dict[str, Any]:
        return {name: reader.dump(getattr(value, name)) for name, reader in self.readers.items()}

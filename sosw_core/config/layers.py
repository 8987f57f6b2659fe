"""Config layers merged in order, remembering which layer every value came from.

Merge rule: JSON objects merge key by key, recursively; every other value (number, string,
boolean, null and ARRAY) replaces what the lower layers had. A higher layer's ``labourers`` list
therefore replaces the lower one whole; lists are never concatenated.

The package defaults are the lowest layer (``defaults``), written as a document, so object-valued
defaults merge like any other layer (``scheduler.job_schema_variants`` keeps its ``default``
variant when a layer adds another).

Each layer is validated on its own, over the defaults, before the merge: a mistake is reported
with the name of the layer that holds it, even when a higher layer hides the value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sosw_core.config.model import SoswConfig
from sosw_core.config.readers import KeyPath, describe
from sosw_core.config.schema import defaults_document, parse_document
from sosw_core.errors import ConfigError

DEFAULTS = "defaults"


@dataclass(frozen=True)
class Layer:
    """One source of settings: ``name`` says where it came from (``config/sosw.json``,
    ``ssm:/sosw/config``, ``env SOSW_CONFIG_JSON``, ``overrides``) and appears in errors."""

    name: str
    document: Mapping[str, Any]


class Provenance:
    """Which layer set each leaf of a merged document: every value that is not a non-empty
    object (arrays are leaves: their items belong to the layer that set the array)."""

    def __init__(self) -> None:
        self._layers: list[str] = []
        self._leaves: dict[KeyPath, int] = {}

    def begin(self, layer: str) -> None:
        self._layers.append(layer)

    def clear(self, path: KeyPath) -> None:
        """Forget ``path`` and everything below it (the current layer is replacing it)."""
        for leaf in [p for p in self._leaves if p[:len(path)] == path]:
            del self._leaves[leaf]

    def forget(self, path: KeyPath) -> None:
        """Forget the leaf exactly at ``path`` (an empty object that is being filled)."""
        self._leaves.pop(path, None)

    def set(self, path: KeyPath) -> None:
        """The current layer set the leaf value at ``path``."""
        self.clear(path)
        self._leaves[path] = len(self._layers) - 1

    def origin(self, path: KeyPath) -> str | None:
        """The layer of ``path`` or of its nearest replaced ancestor; for a merged object, every
        layer that set something inside it, lowest first."""
        for end in range(len(path), -1, -1):
            if path[:end] in self._leaves:
                return self._layers[self._leaves[path[:end]]]
        inside = sorted({i for p, i in self._leaves.items() if p[:len(path)] == path})
        return ", ".join(self._layers[i] for i in inside) or None


def _merge_into(base: dict[Any, Any], top: Mapping[Any, Any], path: KeyPath,
                provenance: Provenance) -> None:
    """Merge ``top`` into ``base`` in place; ``top`` is copied, never shared or mutated."""
    for key, value in top.items():
        here = (*path, key if isinstance(key, str) else str(key))
        if not isinstance(value, Mapping):
            base[key] = copy.deepcopy(value)
            provenance.set(here)
            continue
        if not isinstance(base.get(key), dict):  # an object replaces a scalar, an array or nothing
            base[key] = {}
            provenance.clear(here)
        if value:
            provenance.forget(here)  # no longer an empty-object leaf
            _merge_into(base[key], value, here, provenance)
        elif not base[key]:
            provenance.set(here)  # an empty object is a leaf until something is put in it


def merge(layers: Sequence[Layer]) -> tuple[dict[str, Any], Provenance]:
    """The merged document of ``layers`` (lowest first) and where each of its values came from."""
    merged: dict[str, Any] = {}
    provenance = Provenance()
    for layer in layers:
        if not isinstance(layer.document, Mapping):
            raise ConfigError("document", f"expected an object, got {describe(layer.document)}", layer.name)
        provenance.begin(layer.name)
        _merge_into(merged, layer.document, (), provenance)
    return merged, provenance


def _build(layers: Sequence[Layer]) -> SoswConfig:
    document, provenance = merge([Layer(DEFAULTS, defaults_document()), *layers])
    return parse_document(document, provenance.origin)


def combine(layers: Sequence[Layer]) -> SoswConfig:
    """Validate every layer alone, then build the config from all of them (lowest first)."""
    for layer in layers:
        _build([layer])
    return _build(layers)


def config_from_dict(document: Mapping[str, Any], *, layer: str = "document") -> SoswConfig:
    """A config from one JSON-shaped document over the package defaults (no files, SSM or env)."""
    return combine([Layer(layer, document)])

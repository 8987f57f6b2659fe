"""docs/configuration.md documents every config key, with the code's default, and no other key.

The key list is generated from the dataclasses of sosw_core/config/model.py (nested dataclasses
become dotted keys, tuples of dataclasses ``[]``); the defaults are the dataclass defaults in
their JSON form (the schema's own readers dump them). The doc's reference tables are the rows
of tables whose header starts with ``key``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from pathlib import Path
from typing import Any

from sosw_core.config import SoswConfig, config_from_dict
from sosw_core.config.loader import CONFIG_DIR_ENV, CONFIG_JSON_ENV, ENV_VARIABLES, SSM_PARAMETER_ENV
from sosw_core.config.readers import ListOf, Obj, Reader
from sosw_core.config.schema import SOSW_CONFIG
from tests.docs_commands import fenced_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
REQUIRED = "required"


def _dataclass_in(annotation: Any) -> tuple[type | None, bool]:
    """(the dataclass a field holds, whether it is a tuple of them) or (None, False) for a leaf."""
    if dataclasses.is_dataclass(annotation):
        return annotation, False
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis and dataclasses.is_dataclass(args[0]):
            return args[0], True
    return None, False


def model_keys(cls: type = SoswConfig, reader: Reader = SOSW_CONFIG, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> default in JSON form (``REQUIRED`` when the field has no default)."""
    assert isinstance(reader, Obj) and reader.cls is cls, f"the schema reader of {prefix or 'the root'}"
    hints = typing.get_type_hints(cls)
    keys: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        key = f"{prefix}{field.name}"
        inner, many = _dataclass_in(hints[field.name])
        field_reader = reader.readers[field.name]
        if inner is not None:
            if many:
                assert isinstance(field_reader, ListOf)
                keys.update(model_keys(inner, field_reader.item, f"{key}[]."))
            else:
                keys.update(model_keys(inner, field_reader, f"{key}."))
            continue
        if field.default is not dataclasses.MISSING:
            keys[key] = field_reader.dump(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            keys[key] = field_reader.dump(field.default_factory())
        else:
            keys[key] = REQUIRED
    return keys


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """Cells of the body rows of every Markdown table whose first header cell is ``first_header``."""
    rows, in_table = [], False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = cells[0] == first_header
            continue
        if not set(cells[0]) <= set("-: "):
            rows.append(cells)
    return rows


def documented_keys() -> dict[str, str]:
    documented: dict[str, str] = {}
    for cells in table_rows(DOC.read_text(encoding="utf-8"), "key"):
        key = re.fullmatch(r"`([^`]+)`", cells[0])
        assert key, f"a reference row's key must be one `code` span: {cells[0]!r}"
        assert key[1] not in documented, f"{key[1]} is documented twice"
        documented[key[1]] = cells[2]
    return documented


def test_the_generated_key_list_covers_nested_objects_and_lists():
    keys = model_keys()
    assert {"tables.tasks", "labourers[].id", "labourers[].backoff.jitter",
            "labourers[].health_metrics[].feelings", "orchestrator.status_coefficients"} <= set(keys)
    assert keys["labourers[].id"] == REQUIRED
    assert keys["labourers[].backoff.base_seconds"] == 30.0


def test_every_key_is_documented_and_every_documented_key_exists():
    keys, documented = set(model_keys()), set(documented_keys())
    assert not keys - documented, f"keys missing from docs/configuration.md: {sorted(keys - documented)}"
    assert not documented - keys, f"docs/configuration.md names keys that do not exist: {sorted(documented - keys)}"


def test_documented_defaults_are_the_code_defaults():
    wrong = {}
    for key, default in model_keys().items():
        cell = documented_keys()[key]
        if default == REQUIRED:
            ok = cell == REQUIRED
        else:
            shown = re.fullmatch(r"`(.+)`", cell)
            ok = shown is not None and json.loads(shown[1]) == default
        if not ok:
            wrong[key] = (cell, default)
    assert not wrong, f"documented default vs the code's: {wrong}"


def test_every_environment_variable_is_documented():
    names = {CONFIG_DIR_ENV, SSM_PARAMETER_ENV, CONFIG_JSON_ENV, *(name for name, _ in ENV_VARIABLES)}
    documented = {re.fullmatch(r"`([^`]+)`", cells[0])[1]
                  for cells in table_rows(DOC.read_text(encoding="utf-8"), "variable")}
    assert documented == names


def test_every_json_example_is_a_valid_config():
    examples = [b for b in fenced_blocks(DOC.read_text(encoding="utf-8")) if b.tag == "json"]
    assert examples
    for block in examples:
        config_from_dict(json.loads("\n".join(block.lines)), layer=f"{DOC.name}:{block.line}")



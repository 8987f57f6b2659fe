"""Optional JSON Schemas per labourer for Scheduler jobs (as sedo's ``inputSchema``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sosw_core.errors import ConfigError, InvalidJob


class SchemaViolations(InvalidJob):
    """The job breaks its labourer's JSON Schema; ``violations`` lists every (path, message)."""

    def __init__(self, labourer_id: str, violations: tuple[tuple[str, str], ...]):
        self.violations = violations
        listed = "; ".join(f"{path}: {message}" for path, message in violations)
        super().__init__("job", f"breaks the JSON Schema of labourer {labourer_id!r} "
                                f"({len(violations)} violations): {listed}")


class SchemaValidators:
    """Optional JSON Schemas per labourer, checked against the job body (envelope keys removed)."""

    def __init__(self, schemas: Mapping[str, dict]):
        self._validators: dict[str, Any] = {}
        if not schemas:
            return
        try:
            import jsonschema
        except ImportError as exc:
            raise ConfigError("schemas", "JSON Schemas are configured but the jsonschema package is "
                                         "missing: pip install 'sosw-core[schema]'") from exc
        for labourer_id, schema in schemas.items():
            cls = jsonschema.validators.validator_for(schema)
            try:
                cls.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"schemas.{labourer_id}", f"is not a valid JSON Schema: {exc.message}") from exc
            self._validators[labourer_id] = cls(schema)

    def check(self, labourer_id: str, body: dict[str, Any]) -> None:
        validator = self._validators.get(labourer_id)
        if validator is None:
            return
        errors = sorted(validator.iter_errors(body), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        if errors:
            raise SchemaViolations(labourer_id, tuple((e.json_path, e.message) for e in errors))


def load_schemas(folder: Path) -> dict[str, dict]:
    """``<folder>/<labourer_id>.json`` files as a mapping (an absent folder: no schemas)."""
    schemas: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            schemas[path.stem] = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"schemas.{path.stem}", f"{path} is not valid JSON: {exc}") from exc
    return schemas

"""Layered config loading: defaults < config files < SSM < environment < overrides.

Layers, lowest first; each layer's name is what error messages call it:

1. ``defaults``: the dataclass defaults of :mod:`sosw_core.config.model`;
2. ``<config_dir>/sosw.json``: settings shared by every component;
3. ``<config_dir>/<component>.json``: one component's settings (``orchestrator``, ``scavenger``,
   ``scheduler``, ``worker_assistant``, ``cli`` ...). A missing file is skipped;
4. ``ssm:<name>``: a JSON document in SSM Parameter Store (String or SecureString), read only
   when a parameter name is given (argument, else ``SOSW_CONFIG_SSM_PARAMETER``). A named
   parameter that does not exist is an error, not a skipped layer;
5. the environment: ``env SOSW_CONFIG_JSON`` (a whole JSON document), then each single
   variable of the table below as its own layer ``env <NAME>``;
6. ``overrides``: a mapping from the caller, in the same JSON shape.

How layers merge (objects merge, arrays and scalars replace) is in :mod:`.layers`; the shape and
the value rules are in :mod:`.schema`. Unknown keys, wrong types and broken rules raise
:class:`~sosw_core.errors.ConfigError` naming the dotted key and the layer.

``config_dir``: the argument; else ``$SOSW_CONFIG_DIR``; else the ``config`` folder under
``$LAMBDA_TASK_ROOT`` (in Lambda) or the working directory, if it exists; else no files.

Environment variables (an empty value counts as unset):

==================================  ===============================================
``SOSW_CONFIG_DIR``                 folder of the JSON config files
``SOSW_CONFIG_SSM_PARAMETER``       name of the SSM parameter holding a JSON config
``SOSW_CONFIG_JSON``                a whole JSON config document (the env layer)
``SOSW_TASKS_TABLE``                ``tables.tasks``
``SOSW_JOBS_TABLE``                 ``tables.jobs``
``SOSW_DYNAMODB_ENDPOINT``          ``dynamodb.endpoint_url`` (DynamoDB Local)
``SOSW_DYNAMODB_REGION``            ``dynamodb.region``
``SOSW_ALERTS_TOPIC_ARN``           ``alerts_topic_arn``
``SOSW_SCHEDULER_FUNCTION``         ``scheduler_function``
``SOSW_CONFIG_CHECK_SECONDS``       how often a warm essential asks whether its config
                                    changed (:mod:`sosw_core.config.watch`; default 60)
==================================  ===============================================

Nothing is read at import time: files, SSM and the environment are read by :func:`load_config`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sosw_core.config.layers import Layer, combine
from sosw_core.config.model import SoswConfig
from sosw_core.config.readers import describe
from sosw_core.errors import ConfigError

logger = logging.getLogger(__name__)

CONFIG_DIR_ENV = "SOSW_CONFIG_DIR"
SSM_PARAMETER_ENV = "SOSW_CONFIG_SSM_PARAMETER"
CONFIG_JSON_ENV = "SOSW_CONFIG_JSON"
SHARED_FILE = "sosw.json"
COMPONENT_PATTERN = r"[a-z][a-z0-9_-]*"

# single environment variables -> where they go in the document, applied in this order
ENV_VARIABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SOSW_TASKS_TABLE", ("tables", "tasks")),
    ("SOSW_JOBS_TABLE", ("tables", "jobs")),
    ("SOSW_DYNAMODB_ENDPOINT", ("dynamodb", "endpoint_url")),
    ("SOSW_DYNAMODB_REGION", ("dynamodb", "region")),
    ("SOSW_ALERTS_TOPIC_ARN", ("alerts_topic_arn",)),
    ("SOSW_SCHEDULER_FUNCTION", ("scheduler_function",)),
)


def parse_json(text: str, layer: str) -> dict[str, Any]:
    """A JSON object; invalid JSON, a duplicate key or a non-object root is a ConfigError."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ConfigError(key, "duplicate key in a JSON object", layer)
            obj[key] = value
        return obj

    try:
        document = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError("document", f"invalid JSON: {exc}", layer) from exc
    if not isinstance(document, dict):
        raise ConfigError("document", f"expected a JSON object, got {describe(document)}", layer)
    return document


def default_config_dir(environ: Mapping[str, str]) -> Path | None:
    """``$SOSW_CONFIG_DIR``, else ``config`` under ``$LAMBDA_TASK_ROOT`` or the working directory."""
    if environ.get(CONFIG_DIR_ENV):
        return Path(environ[CONFIG_DIR_ENV])
    folder = Path(environ.get("LAMBDA_TASK_ROOT") or ".") / "config"
    return folder if folder.is_dir() else None


def file_layers(component: str, config_dir: Path) -> list[Layer]:
    """``sosw.json`` then ``<component>.json`` from ``config_dir``; missing files are skipped."""
    layers = []
    for path in (config_dir / SHARED_FILE, config_dir / f"{component}.json"):
        if path.is_file():
            layers.append(Layer(str(path), parse_json(path.read_text(encoding="utf-8"), str(path))))
        else:
            logger.debug("no config file", extra={"path": str(path)})
    return layers


def ssm_layer(parameter: str, client: Any) -> Layer:
    """The JSON document in SSM parameter ``parameter`` (decrypted if it is a SecureString)."""
    name = f"ssm:{parameter}"
    try:
        response = client.get_parameter(Name=parameter, WithDecryption=True)
    except client.exceptions.ParameterNotFound as exc:
        raise ConfigError("document", "the SSM parameter does not exist", name) from exc
    return Layer(name, parse_json(response["Parameter"]["Value"], name))


def env_layers(environ: Mapping[str, str]) -> list[Layer]:
    """``SOSW_CONFIG_JSON`` first, then each single variable of ``ENV_VARIABLES``."""
    layers = []
    if environ.get(CONFIG_JSON_ENV):
        name = f"env {CONFIG_JSON_ENV}"
        layers.append(Layer(name, parse_json(environ[CONFIG_JSON_ENV], name)))
    for variable, path in ENV_VARIABLES:
        value = environ.get(variable)
        if value:
            document: Any = value
            for key in reversed(path):
                document = {key: document}
            layers.append(Layer(f"env {variable}", document))
    return layers


def config_version(component: str, *, config_dir: Path | None = None, ssm_parameter: str | None = None,
                   ssm_client: Any = None, environ: Mapping[str, str] | None = None) -> tuple[Any, ...]:
    """What identifies the config sources that can change under a running process, as they are now.

    Each config file's (path, mtime, size) (``stat`` calls only) and the SSM parameter's
    ``Version`` (one ``GetParameter``, only when a parameter is configured). The environment
    layers are not part of it: a process's environment does not change (on Lambda a change of
    the function's variables starts new execution environments). Equal versions: same config.
    """
    env = os.environ if environ is None else environ
    parts: list[Any] = []
    folder = config_dir if config_dir is not None else default_config_dir(env)
    if folder is not None:
        for path in (Path(folder) / SHARED_FILE, Path(folder) / f"{component}.json"):
            if path.is_file():
                stat = path.stat()
                parts.append((str(path), stat.st_mtime_ns, stat.st_size))
    parameter = ssm_parameter or env.get(SSM_PARAMETER_ENV)
    if parameter:
        if ssm_client is None:
            import boto3

            ssm_client = boto3.client("ssm")
        try:
            response = ssm_client.get_parameter(Name=parameter, WithDecryption=False)
        except ssm_client.exceptions.ParameterNotFound as exc:
            raise ConfigError("document", "the SSM parameter does not exist", f"ssm:{parameter}") from exc
        parts.append((f"ssm:{parameter}", response["Parameter"]["Version"]))
    return tuple(parts)


def load_config(component: str, *, config_dir: Path | None = None, ssm_parameter: str | None = None,
                ssm_client: Any = None, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> SoswConfig:
    """The config of ``component`` from every layer (see the module docstring), validated.

    ``environ`` defaults to ``os.environ``; ``ssm_client`` to ``boto3.client("ssm")``, created
    only when a parameter is to be read.
    """
    if not re.fullmatch(COMPONENT_PATTERN, component):
        raise ValueError(f"component must match {COMPONENT_PATTERN}, got {component!r}")
    env = os.environ if environ is None else environ
    layers: list[Layer] = []
    folder = config_dir if config_dir is not None else default_config_dir(env)
    if folder is not None:
        layers += file_layers(component, Path(folder))
    parameter = ssm_parameter or env.get(SSM_PARAMETER_ENV)
    if parameter:
        if ssm_client is None:
            import boto3  # only when SSM is used: keeps plain loads free of boto3 start-up

            ssm_client = boto3.client("ssm")
        layers.append(ssm_layer(parameter, ssm_client))
    layers += env_layers(env)
    if overrides is not None:
        layers.append(Layer("overrides", overrides))
    config = combine(layers)
    logger.info("config loaded", extra={"component": component, "layers": [layer.name for layer in layers]})
    return config

"""``deploy --dry-run``: everything a deploy would do, checked locally, with nothing sent to AWS.

No credentials, no region and no network are needed: the zips are built (the same bytes a
deploy uploads, so their content-addressed keys are the real ones), every template is linted
with cfn-lint, and the stack parameters the deploy would send are checked against the main
template's declarations (unknown keys, required values, ``AllowedValues``, ``AllowedPattern``,
``MinValue``/``MaxValue``, numbers). When cfn-lint is not installed, the plan says so: the
templates are then only parsed (if PyYAML is there) and the parameters checked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sosw_core.config.loader import parse_json
from sosw_core.config.schema import parse_document
from sosw_core.deploy.access import labourers_outside
from sosw_core.deploy.deploy import DeployRequest, artifact_key, cfn_lint, check_stage
from sosw_core.deploy.package import Package
from sosw_core.errors import ConfigError

Loader = Callable[[Path], dict[str, Any] | None]
Linter = Callable[[Path], list[str] | None]
UNSET_BUCKET = "<bucket>"
CONFIG_PARAMETER = "ConfigDocument"
LABOURERS_PARAMETER = "LabourerFunctionArns"
# The essentials get ConfigDocument in SOSW_CONFIG_JSON (cloudformation/sosw-core.yaml, "Config"):
# Lambda allows 4 KB of environment variables per function in all ("Lambda quotas"); the other
# variables (two table names, the topic ARN, the Scheduler's name) take well under 1 KB. This is
# also within the 4096 bytes of the standard-tier SSM parameter that keeps a copy.
CONFIG_DOCUMENT_LIMIT = 3072


@dataclass(frozen=True)
class TemplateCheck:
    path: Path
    linted: bool  # False: cfn-lint is not installed
    findings: tuple[str, ...]
    resources: tuple[tuple[str, int], ...] = ()  # (resource type, how many), sorted


@dataclass(frozen=True)
class DeployPlan:
    stack: str
    uploads: tuple[tuple[Path, int, str], ...]  # (zip, bytes, s3 url)
    parameters: tuple[tuple[str, str], ...]  # what create/update would send
    templates: tuple[TemplateCheck, ...]
    parameter_problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.parameter_problems and not any(t.findings for t in self.templates)


def load_template(path: Path) -> dict[str, Any] | None:
    """The template as a dict (CloudFormation short tags understood); None without a parser."""
    try:
        from cfnlint.decode.cfn_yaml import load
    except ModuleNotFoundError:
        return _load_with_pyyaml(path)
    return dict(load(str(path)))


def _load_with_pyyaml(path: Path) -> dict[str, Any] | None:
    try:
        import yaml
    except ModuleNotFoundError:
        return None

    class CfnLoader(yaml.SafeLoader):
        pass

    def tag(loader: Any, suffix: str, node: Any) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CfnLoader.add_multi_constructor("!", tag)
    return yaml.load(path.read_text(), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass


def check_template(path: Path, linter: Linter = cfn_lint, loader: Loader = load_template) -> TemplateCheck:
    findings = linter(path)
    template = loader(path)
    counts = Counter(r.get("Type", "?") for r in (template or {}).get("Resources", {}).values())
    return TemplateCheck(path, findings is not None, tuple(findings or ()), tuple(sorted(counts.items())))


def check_parameters(template: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """What CloudFormation would refuse about these parameter values, each naming the key and rule."""
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters", {})
    problems = [f"{key}: not a parameter of the template (known: {', '.join(sorted(declared))})"
                for key in sorted(set(values) - set(declared))]
    for key, spec in declared.items():
        if key not in values:
            if "Default" not in spec:
                problems.append(f"{key}: required (no default)")
            continue
        value = values[key]
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{key}: {value!r} is not one of {[str(v) for v in spec['AllowedValues']]}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{key}: {value!r} does not match {spec['AllowedPattern']}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{key}: {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{key}: {value} is below the minimum {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{key}: {value} is above the maximum {spec['MaxValue']}")
    if CONFIG_PARAMETER in values:
        problems += check_config_document(values[CONFIG_PARAMETER])
    problems += check_labourer_access(declared, values)
    return problems


def check_labourer_access(declared: Mapping[str, Mapping[str, Any]], values: Mapping[str, str]) -> list[str]:
    """Every configured labourer's function must be in ``LabourerFunctionArns`` (the essentials'
    IAM list, :mod:`sosw_core.deploy.access`), else each invoke of it is refused.

    A value not given is the template's default, as on a new stack (a deploy to an existing
    stack passes that stack's values: :func:`sosw_core.cli.deploy.run_deploy`).
    """
    if CONFIG_PARAMETER not in declared or LABOURERS_PARAMETER not in declared:
        return []
    layer = f"parameter {CONFIG_PARAMETER}"
    text = values.get(CONFIG_PARAMETER, _default(declared[CONFIG_PARAMETER], "{}"))
    try:
        labourers = parse_document(parse_json(text, layer), lambda path: layer).labourers
    except ConfigError:
        return []  # reported by check_config_document
    resources = values.get(LABOURERS_PARAMETER, _default(declared[LABOURERS_PARAMETER], "")).split(",")
    problems = [f"{LABOURERS_PARAMETER}: {p}" for p in labourers_outside(labourers, resources)]
    defaulted = [key for key in (CONFIG_PARAMETER, LABOURERS_PARAMETER) if key not in values]
    if problems and defaulted:
        problems.append(f"{LABOURERS_PARAMETER}: {' and '.join(defaulted)} not given: compared with the template "
                        f"default, as on a new stack (pass -p {LABOURERS_PARAMETER}=... to compare others)")
    return problems


def _default(spec: Mapping[str, Any], fallback: str) -> str:
    value = spec.get("Default", fallback)
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def check_config_document(text: str) -> list[str]:
    """The config the essentials will read from SSM: its size, and the config rules."""
    layer = f"parameter {CONFIG_PARAMETER}"
    problems = []
    size = len(text.encode())
    if size > CONFIG_DOCUMENT_LIMIT:
        problems.append(f"{CONFIG_PARAMETER}: {size} bytes, over the {CONFIG_DOCUMENT_LIMIT} it may take of "
                        f"a function's 4 KB of Lambda environment variables (SOSW_CONFIG_JSON)")
    try:
        parse_document(parse_json(text, layer), lambda path: layer)
    except ConfigError as exc:
        problems.append(f"{CONFIG_PARAMETER}: {exc}")
    return problems


def plan_deploy(request: DeployRequest, package: Package, templates: list[Path], *,
                linter: Linter = cfn_lint, loader: Loader = load_template) -> DeployPlan:
    """The uploads, parameters and template checks of ``deploy(request, package)``; no I/O but files."""
    check_stage(request.stage)
    bucket = request.bucket or UNSET_BUCKET
    layer_key = artifact_key(request.stage, "layer", package.layer)
    function_key = artifact_key(request.stage, "functions", package.function)
    parameters = {"Stage": request.stage, "CodeBucket": bucket, "LayerKey": layer_key,
                  "FunctionKey": function_key, **request.parameters}
    checks = tuple(check_template(path, linter, loader) for path in templates)
    main = loader(request.template)
    problems = check_parameters(main, parameters) if main is not None else []
    uploads = ((package.layer.path, package.layer.size, f"s3://{bucket}/{layer_key}"),
               (package.function.path, package.function.size, f"s3://{bucket}/{function_key}"))
    return DeployPlan(stack=request.stack, uploads=uploads, parameters=tuple(sorted(parameters.items())),
                      templates=checks, parameter_problems=tuple(problems))


def render(plan: DeployPlan) -> list[str]:
    """The plan as the lines the CLI prints."""
    lines = [f"dry run: nothing is sent to AWS; a deploy would create or update stack {plan.stack}", "",
             "upload:"]
    lines += [f"  {path}  {size:>9} bytes  -> {url}" for path, size, url in plan.uploads]
    lines += ["", "parameters (others keep the stack's value, or the template default on creation):"]
    lines += [f"  {key} = {_short(value)}" for key, value in plan.parameters]
    for check in plan.templates:
        lines += ["", f"template {check.path}:"]
        if check.resources:
            lines.append("  " + ", ".join(f"{n} {kind}" for kind, n in check.resources))
        if not check.linted:
            lines.append("  cfn-lint: not installed (pip install cfn-lint): not linted"
                         + ("; parsed" if check.resources else "; not parsed (no YAML parser)"))
        else:
            lines.append(f"  cfn-lint: {len(check.findings)} finding(s)")
            lines += [f"    {finding}" for finding in check.findings]
    if plan.parameter_problems:
        lines += ["", "parameter problems:"] + [f"  {p}" for p in plan.parameter_problems]
    lines += ["", "dry run: OK" if plan.ok else "dry run: FAILED"]
    return lines


def _short(value: str, limit: int = 100) -> str:
    flat = value.replace("\n", " ")
    return flat if len(flat) <= limit else f"{flat[:limit - 1]}… ({len(value)} chars)"

"""``sosw-core package`` and ``sosw-core deploy``: build the Lambda zips, deploy the stack to AWS."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3

from sosw_core.clock import SystemClock
from sosw_core.deploy.deploy import Deployer, DeployError, DeployRequest, StackEvent, aws_errors, check_stage
from sosw_core.deploy.package import Package, build_package, describe, pip_installer, source_root
from sosw_core.deploy.plan import CONFIG_PARAMETER, LABOURERS_PARAMETER, plan_deploy, render
from sosw_core.deploy.smoke import Smoke, SmokeRequest

DEFAULT_OUT = Path("build")
BUCKET_ENV = "SOSW_DEPLOY_BUCKET"


def register(sub: argparse._SubParsersAction) -> None:
    package = sub.add_parser("package", help="build the layer and function zips (reproducibly)",
                             description="Build build/layer.zip (sosw_core + pynamodb + python-dateutil, "
                                         "no boto3, copied from this environment at the installed "
                                         "versions) and build/functions.zip (essentials/, workers/).")
    package.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build)")
    package.add_argument("--pip", action="store_true",
                         help="fetch the layer's dependencies from the package index (same pinned versions)")
    package.set_defaults(func=run_package)

    deploy = sub.add_parser("deploy", help="package, upload and create/update the CloudFormation stack",
                            description="Build the zips, upload them to S3 under content-addressed keys "
                                        "and create or update the stack sosw-core-STAGE, printing its "
                                        "events. --dry-run builds the zips, lints the templates and "
                                        "checks the parameters, then prints what would be deployed: "
                                        "no AWS credentials or network needed, nothing is sent.")
    deploy.add_argument("--stage", required=True, help="deployment stage, e.g. dev")
    deploy.add_argument("--dry-run", action="store_true",
                        help="package and validate offline, print the plan; send nothing to AWS")
    deploy.add_argument("--bucket", default=os.environ.get(BUCKET_ENV),
                        help=f"S3 bucket for the zips (default: ${BUCKET_ENV})")
    deploy.add_argument("--region", default=None, help="AWS region (default: boto3 resolution)")
    deploy.add_argument("--profile", default=None, help="AWS profile")
    deploy.add_argument("--stack-name", default=None, help="stack name (default: sosw-core-STAGE)")
    deploy.add_argument("--template", type=Path, default=None,
                        help="template (default: cloudformation/sosw-core.yaml of this checkout)")
    deploy.add_argument("--parameter", "-p", action="append", default=[], metavar="KEY=VALUE",
                        help="stack parameter, repeatable (e.g. LabourerFunctionArns=arn1,arn2)")
    deploy.add_argument("--package-dir", type=Path, default=None,
                        help="deploy the layer.zip and functions.zip already in this folder")
    deploy.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to build the zips")
    deploy.add_argument("--pip", action="store_true",
                        help="fetch the layer's dependencies from the package index (same pinned versions)")
    smoke = deploy.add_argument_group(
        "smoke run (real AWS)",
        "--smoke deploys the stage with the example worker as its one labourer, sends a job of "
        "--tasks tasks, waits for them, prints what happened and deletes both stacks and the "
        "stage's tables. Use a stage of its own (e.g. smoke).")
    smoke.add_argument("--smoke", action="store_true", help="run the smoke test on the stage")
    smoke.add_argument("--tasks", type=int, default=100, help="tasks in the smoke job (default 100)")
    smoke.add_argument("--wait", type=float, default=900.0, metavar="SECONDS",
                       help="how long to wait for the tasks (default 900)")
    smoke.add_argument("--keep", action="store_true", help="leave the stacks and tables in place")
    deploy.set_defaults(func=run_deploy)


def run_package(args: argparse.Namespace) -> int:
    package = _build(args)
    for artifact in (package.layer, package.function):
        print(f"{artifact.path}  {artifact.size:>9} bytes  sha256 {artifact.sha256}")
    return 0


def print_event(event: StackEvent) -> None:
    reason = event.reason.replace("\n", " ")
    print(f"{event.timestamp:%H:%M:%S}  {event.logical_id:<34} {event.status:<30} {reason}".rstrip(),
          flush=True)


def run_deploy(args: argparse.Namespace) -> int:
    check_stage(args.stage)
    parameters = _parse_parameters(args.parameter)
    template = args.template or source_root() / "cloudformation" / "sosw-core.yaml"
    request = DeployRequest(stage=args.stage, bucket=args.bucket or "", template=template,
                            parameters=parameters, stack_name=args.stack_name)
    if not args.dry_run and not args.bucket:
        raise DeployError(f"--bucket (or ${BUCKET_ENV}) is needed to upload the zips")
    if args.smoke and (args.dry_run or args.parameter or args.template or args.stack_name):
        raise DeployError("--smoke deploys its own stacks: no --dry-run, --parameter, --template or --stack-name")
    package = _prebuilt(args.package_dir) if args.package_dir else _build(args)
    templates = [template] if args.template else sorted((source_root() / "cloudformation").glob("*.yaml"))
    if args.dry_run:
        return _print_plan(plan_deploy(request, package, templates))
    with aws_errors("AWS"):
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        clients = {name: session.client(name) for name in ("cloudformation", "s3", "lambda", "sts", "dynamodb")}
        deployer = Deployer(clients["cloudformation"], clients["s3"], SystemClock(), time.sleep,
                            on_event=print_event)
        if args.smoke:
            return _smoke(args, deployer, clients, package)
        # What an update leaves unchanged is compared as the stack has it (the labourers with
        # the IAM list, above all), so the checks see what the stack will run with.
        current = deployer.stack_parameters(request.stack)
        kept = {key: current[key] for key in (CONFIG_PARAMETER, LABOURERS_PARAMETER)
                if key in current and key not in parameters}
    # The same offline checks before a deploy as in a dry run: nothing is uploaded if they fail.
    checked = plan_deploy(replace(request, parameters={**kept, **parameters}), package, templates)
    if not checked.ok:
        return _print_plan(checked)
    print(f"{'TIME':<8}  {'LOGICAL ID':<34} {'STATUS':<30} REASON", flush=True)
    with aws_errors(f"deploy {request.stack}"):
        result = deployer.deploy(request, package)
    print(f"stack {result.stack_name}: {result.action} ({result.status})")
    for key, value in sorted(result.outputs.items()):
        print(f"  {key:<30} {value}")
    return 0


def _print_plan(plan: Any) -> int:
    print("\n".join(render(plan)), file=sys.stdout if plan.ok else sys.stderr)
    return 0 if plan.ok else 1


def _smoke(args: argparse.Namespace, deployer: Deployer, clients: Mapping[str, Any], package: Package) -> int:
    if args.profile:  # the task counts go through PynamoDB, which reads the profile from the environment
        os.environ["AWS_PROFILE"] = args.profile
    folder = source_root() / "cloudformation"
    request = SmokeRequest(stage=args.stage, bucket=args.bucket, template=folder / "sosw-core.yaml",
                           worker_template=folder / "example-worker.yaml", tasks=args.tasks,
                           wait_seconds=args.wait, keep=args.keep)
    region = clients["lambda"].meta.region_name
    smoke = Smoke(deployer, sts=clients["sts"], lambda_client=clients["lambda"], dynamodb=clients["dynamodb"],
                  count=lambda outputs, labourer: count_tasks(outputs, labourer, region),
                  clock=SystemClock(), sleep=time.sleep, say=lambda line: print(line, flush=True))
    return 0 if smoke.run(request, package).ok else 1


def count_tasks(outputs: Mapping[str, str], labourer: str, region: str | None) -> dict[str, int]:
    """Tasks per state of ``labourer`` in the stack's tasks table (sosw-core's own status query)."""
    from sosw_core.adapters.dynamodb import open_store
    from sosw_core.config.model import DynamoDBConfig, SoswConfig, TablesConfig

    config = SoswConfig(tables=TablesConfig(tasks=outputs["TasksTableName"], jobs=outputs["JobsTableName"]),
                        dynamodb=DynamoDBConfig(region=region))
    return {str(state.value): n for state, n in open_store(config).queries.counts(labourer).items()}


def _build(args: argparse.Namespace) -> Package:
    if args.pip:
        return build_package(source_root(), args.out, pip_installer)
    return build_package(source_root(), args.out)


def _parse_parameters(items: list[str]) -> dict[str, str]:
    parameters = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DeployError(f"--parameter {item!r}: expected KEY=VALUE")
        parameters[key] = value
    return parameters


def _prebuilt(folder: Path) -> Package:
    paths = (folder / "layer.zip", folder / "functions.zip")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DeployError(f"missing {', '.join(missing)}: run `sosw-core package --out {folder}` first")
    return Package(layer=describe(paths[0]), function=describe(paths[1]))

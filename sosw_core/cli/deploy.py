"""``sosw-core package`` and ``sosw-core deploy``: build the Lambda zips, deploy the stack to AWS."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import boto3

from sosw_core.clock import SystemClock
from sosw_core.deploy.deploy import Deployer, DeployError, DeployRequest, StackEvent, check_stage
from sosw_core.deploy.package import Package, build_package, describe, source_root

DEFAULT_OUT = Path("build")
BUCKET_ENV = "SOSW_DEPLOY_BUCKET"


def register(sub: argparse._SubParsersAction) -> None:
    package = sub.add_parser("package", help="build the layer and function zips (reproducibly)",
                             description="Build build/layer.zip (sosw_core + pynamodb + python-dateutil, "
                                         "no boto3) and build/functions.zip (essentials/, workers/).")
    package.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build)")
    package.set_defaults(func=run_package)

    deploy = sub.add_parser("deploy", help="package, upload and create/update the CloudFormation stack",
                            description="Build the zips, upload them to S3 under content-addressed keys "
                                        "and create or update the stack sosw-core-STAGE, printing its "
                                        "events. --dry-run only validates the template (and runs "
                                        "cfn-lint when installed).")
    deploy.add_argument("--stage", required=True, help="deployment stage, e.g. dev")
    deploy.add_argument("--dry-run", action="store_true", help="validate the template; create nothing")
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
    deploy.set_defaults(func=run_deploy)


def run_package(args: argparse.Namespace) -> int:
    package = build_package(source_root(), args.out)
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
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    deployer = Deployer(session.client("cloudformation"), session.client("s3"), SystemClock(), time.sleep,
                        on_event=print_event)
    if args.dry_run:
        findings = deployer.validate(template)
        print(f"{template}: valid for CloudFormation")
        if findings is None:
            print("cfn-lint: not installed, skipped")
            return 0
        for finding in findings:
            print(finding)
        print(f"cfn-lint: {len(findings)} finding(s)")
        return 1 if findings else 0
    if not args.bucket:
        raise DeployError(f"--bucket (or ${BUCKET_ENV}) is needed to upload the zips")
    package = _prebuilt(args.package_dir) if args.package_dir else build_package(source_root(), args.out)
    request = DeployRequest(stage=args.stage, bucket=args.bucket, template=template, parameters=parameters,
                            stack_name=args.stack_name)
    print(f"{'TIME':<8}  {'LOGICAL ID':<34} {'STATUS':<30} REASON", flush=True)
    result = deployer.deploy(request, package)
    print(f"stack {result.stack_name}: {result.action} ({result.status})")
    for key, value in sorted(result.outputs.items()):
        print(f"  {key:<30} {value}")
    return 0


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

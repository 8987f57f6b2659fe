"""Where a command acts: DynamoDB Local (an endpoint URL) or AWS (standard boto3 resolution).

``--endpoint-url URL`` or ``SOSW_DYNAMODB_ENDPOINT`` picks a local endpoint; otherwise the
command talks to AWS with the usual profile/region settings (``--profile``, ``--region``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from sosw_core.config.loader import load_config
from sosw_core.config.model import SoswConfig, TablesConfig


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument("--endpoint-url", default=os.environ.get("SOSW_DYNAMODB_ENDPOINT"),
                       help="DynamoDB endpoint, e.g. http://127.0.0.1:8000 for DynamoDB Local "
                            "(default: $SOSW_DYNAMODB_ENDPOINT, else AWS)")
    group.add_argument("--region", default=None, help="AWS region (default: boto3 resolution)")
    group.add_argument("--profile", default=None, help="AWS profile (sets AWS_PROFILE)")
    group.add_argument("--config", dest="config_dir", default=None,
                       help="folder of JSON configs (default: $SOSW_CONFIG_DIR, else ./config when present)")
    group.add_argument("--tasks-table", default=None, help="tasks table name")
    group.add_argument("--jobs-table", default=None, help="jobs table name")


def config_from_args(args: argparse.Namespace, component: str = "cli") -> SoswConfig:
    """The config for a command: the layered config, then the command-line target on top."""
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile
    config = _load(component, args.config_dir)
    dynamodb = config.dynamodb
    if args.endpoint_url:
        dynamodb = dataclasses.replace(dynamodb, endpoint_url=args.endpoint_url)
    if args.region:
        dynamodb = dataclasses.replace(dynamodb, region=args.region)
    tables = TablesConfig(tasks=args.tasks_table or config.tables.tasks,
                          jobs=args.jobs_table or config.tables.jobs)
    return dataclasses.replace(config, dynamodb=dynamodb, tables=tables)


def _load(component: str, config_dir: str | None) -> SoswConfig:
    # without --config: load_config's own order ($SOSW_CONFIG_DIR, then ./config)
    return load_config(component, config_dir=Path(config_dir) if config_dir else None)

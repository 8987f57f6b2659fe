"""``sosw-core tables create|describe``: the tables, from the models (one schema source)."""

from __future__ import annotations

import argparse
import json

from sosw_core.adapters.dynamodb import build_models, create_tables, table_definitions
from sosw_core.cli.target import add_target_arguments, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tables", help="create or describe the DynamoDB tables",
                            description="Create the tasks and jobs tables (idempotent) or print "
                                        "their definitions as the code declares them.")
    actions = parser.add_subparsers(dest="tables_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create missing tables (with indexes and TTL)")
    add_target_arguments(create)
    create.set_defaults(func=run_create)
    describe = actions.add_parser("describe", help="print the table definitions as JSON")
    add_target_arguments(describe)
    describe.set_defaults(func=run_describe)


def run_create(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    models = build_models(config.tables, config.dynamodb)
    created = create_tables(models)
    for model in models.all:
        name = model.Meta.table_name
        print(f"{name:40} {'created' if name in created else 'exists'}")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    print(json.dumps(table_definitions(build_models(config.tables, config.dynamodb)), indent=2))
    return 0

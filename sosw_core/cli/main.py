"""``sosw-core``: run, inspect and operate a sosw-core deployment (local or AWS)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sosw_core.errors import SoswError

# Command modules, each with ``register(subparsers)``, in the order --help lists them (the
# list is the single place to add one).
COMMAND_MODULES = (
    "sosw_core.cli.tables",
    "sosw_core.cli.demo",
    "sosw_core.cli.plan",
    "sosw_core.cli.local",
    "sosw_core.cli.submit",
    "sosw_core.cli.status",
    "sosw_core.cli.tasks",
    "sosw_core.cli.redrive",
    "sosw_core.cli.deploy",
    "sosw_core.cli.config_translate",
)

EXIT_USAGE = 2
EXIT_FAILURE = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sosw-core",
        description="Serverless Orchestrator of Serverless Workers: schedule, dispatch and watch "
                    "tasks of AWS Lambda workers (or a local stand-in).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except SoswError as exc:
        print(f"sosw-core: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("sosw-core: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

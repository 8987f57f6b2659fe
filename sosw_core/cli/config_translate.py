"""``sosw-core config from-sosw07 FILE...``: translate sosw 0.7 configs (see :mod:`.sosw07_config`).

Prints the sosw-core document (or writes ``--out``); notes on dropped keys go to stderr; keys
with no translation exit 1 with one line each, naming the key and its replacement.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sosw_core.cli.sosw07_config import UntranslatableConfig, translate


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="work with config documents",
                            description="Work with config documents.")
    commands = parser.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    translate_parser = commands.add_parser(
        "from-sosw07", help="translate a sosw 0.7 config into a sosw-core config",
        description="Translate sosw 0.7 essential configs (sosw_orchestrator_config.json, "
                    "sosw_scheduler_config.json, ...: give every one you have, they are merged) into one "
                    "sosw-core config document. Dropped sosw 0.7 keys are listed on stderr; a key with no "
                    "translation is an error naming it and its replacement (exit 1, nothing written).")
    translate_parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                                  help="a sosw 0.7 config as JSON (- for stdin)")
    translate_parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                                  help="write the sosw-core config here (default: stdout)")
    translate_parser.set_defaults(func=run)


def _read(path: Path) -> tuple[str, Any]:
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        return str(path), json.loads(text)
    except json.JSONDecodeError as exc:
        raise UntranslatableConfig([f"{path}: not JSON ({exc})"]) from None


def run(args: argparse.Namespace) -> int:
    translation = translate([_read(path) for path in args.files])
    for note in translation.notes:
        print(f"note: {note}", file=sys.stderr)
    text = json.dumps(translation.document, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0

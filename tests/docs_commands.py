"""Find the commands the docs show, so a test can run every one of them.

The convention for every doc (tests/integration/test_docs_commands.py enforces it):

* commands live in fenced blocks tagged ``console``;
* a command line starts with ``$ ``; a line ending in ``\\`` continues on the next line;
* every other line of a ``console`` block is output and is not run;
* a command that is meant to fail says so at its end: ``$ sosw-core plan bad.json  # exit 2``;
* each command runs in a shell of its own, in the order shown: files it writes are there for
  the next command, but ``export`` and ``cd`` do not carry over.

Blocks tagged ``sh``, ``bash``, ``shell`` or ``zsh``, and ``$ `` lines in any block not tagged
``console``, would show commands that no test runs, so :func:`find_shell_blocks` reports them
and the test refuses them. A command that cannot run in the test stays in a ``console`` block
and is listed, with the reason, in the test's ``NOT_RUN``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
EXIT_NOTE = re.compile(r"\s+#\s*exit\s+(?P<code>\d+)\s*$")
SHELL_TAGS = frozenset({"sh", "bash", "shell", "zsh", "shell-session"})
PROMPT = "$ "


@dataclass(frozen=True)
class DocCommand:
    """One command shown in a doc: where, the command as one line, the exit status it expects."""

    path: str  # relative to the repository root, e.g. ``docs/deploying.md``
    line: int  # 1-based line of its ``$ ``
    command: str  # continuation lines joined with single spaces, exit note removed
    expected_exit: int = 0

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Block:
    """A fenced block: its info tag, the 1-based line of its opening fence, its lines."""

    tag: str
    line: int
    lines: tuple[str, ...]


def doc_files(root: Path) -> list[Path]:
    """README.md and every ``docs/*.md``, in a stable order."""
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    return files + sorted((root / "docs").glob("*.md"))


def fenced_blocks(text: str) -> Iterator[Block]:
    """Fenced code blocks of a Markdown text (CommonMark fences: ``` or ~~~, 3 or more).

    An unclosed fence runs to the end of the text, as CommonMark renders it.
    """
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[end])
            end += 1
        yield Block(opening["info"].lower(), index + 1, tuple(body))
        index = end + 1


def commands_in_block(block: Block, path: str) -> list[DocCommand]:
    """The ``$ `` commands of a ``console`` block, with continuations joined."""
    commands = []
    position = 0
    while position < len(block.lines):
        line = block.lines[position].strip()
        position += 1
        if not line.startswith(PROMPT):
            continue
        start = block.line + position  # the fence is block.line; body line k is block.line + k
        parts = [line[len(PROMPT):]]
        while parts[-1].endswith("\\") and position < len(block.lines):
            parts[-1] = parts[-1][:-1].rstrip()
            parts.append(block.lines[position].strip())
            position += 1
        text = " ".join(part for part in parts if part)
        expected = 0
        note = EXIT_NOTE.search(text)
        if note is not None:
            expected = int(note["code"])
            text = text[:note.start()].rstrip()
        commands.append(DocCommand(path, start, text, expected))
    return commands


def find_commands(root: Path) -> list[DocCommand]:
    """Every command in every ``console`` block of README.md and docs/*.md, in reading order."""
    found = []
    for file in doc_files(root):
        relative = file.relative_to(root).as_posix()
        for block in fenced_blocks(file.read_text(encoding="utf-8")):
            if block.tag == "console":
                found += commands_in_block(block, relative)
    return found


def find_shell_blocks(root: Path) -> list[str]:
    """``path:line problem`` of every block that shows shell commands outside the convention:
    tagged ``sh``/``bash``/``shell``/``zsh``; any other non-``console`` block with a ``$ `` line
    (a command no test would see); a ``console`` block with no ``$ `` line."""
    found = []
    for file in doc_files(root):
        relative = file.relative_to(root).as_posix()
        for block in fenced_blocks(file.read_text(encoding="utf-8")):
            if block.tag in SHELL_TAGS:
                found.append(f"{relative}:{block.line} ```{block.tag}")
            elif block.tag == "console":
                if not commands_in_block(block, relative):
                    found.append(f"{relative}:{block.line} ```console without a '$ ' line")
            elif any(line.strip().startswith(PROMPT) for line in block.lines):
                found.append(f"{relative}:{block.line} ```{block.tag or '(untagged)'} with a '$ ' line")
    return found


def run_command(command: DocCommand, env: dict[str, str], *, cwd: Path | None = None,
                timeout: float = 180.0, text: str | None = None) -> str | None:
    """Run one doc command (or ``text`` in its place) with ``bash -o pipefail -c`` in ``cwd``;
    ``None`` when it exited as the doc expects, else what went wrong (with its output's tail)."""
    text = command.command if text is None else text
    try:
        done = subprocess.run(["bash", "-o", "pipefail", "-c", text], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"{command.where}: `{text}` did not finish within {timeout:.0f} s"
    if done.returncode == command.expected_exit:
        return None
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    return (f"{command.where}: `{text}` exited {done.returncode}, "
            f"the doc expects {command.expected_exit}\n{tail}")

"""The finder of doc commands (tests/docs_commands.py) on small Markdown texts."""

from __future__ import annotations

from tests.docs_commands import (
    DocCommand,
    commands_in_block,
    fenced_blocks,
    find_commands,
    find_shell_blocks,
    run_command,
)

DOC = """# Title

```console
$ sosw-core tables create
created sosw_tasks
$ sosw-core plan job.json \\
    --chunkable section,store  # exit 2
error: sections.s1: ...
```

````markdown
```console
$ not-a-command-it-is-inside-a-markdown-example
```
````

~~~sh
make run
~~~

```console
no prompt here
```

```text
# not a console block
$ sosw-core local up
```
"""


def test_commands_with_continuations_and_exit_notes(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(DOC)
    assert find_commands(tmp_path) == [
        DocCommand("docs/a.md", 4, "sosw-core tables create", 0),
        DocCommand("docs/a.md", 6, "sosw-core plan job.json --chunkable section,store", 2),
    ]


def test_blocks_keep_their_tag_and_line():
    assert [(b.tag, b.line) for b in fenced_blocks(DOC)] == [
        ("console", 3), ("markdown", 11), ("sh", 17), ("console", 21), ("text", 25)]


def test_shell_blocks_and_empty_console_blocks_are_reported(tmp_path):
    (tmp_path / "README.md").write_text(DOC)
    assert find_shell_blocks(tmp_path) == [
        "README.md:11 ```markdown with a '$ ' line", "README.md:17 ```sh", "README.md:21 ```console without a '$ ' line",
        "README.md:25 ```text with a '$ ' line"]


def test_a_hash_inside_a_command_is_not_an_exit_note():
    (block,) = fenced_blocks("```console\n$ echo '#1' # exit code 3\n```\n")
    (command,) = commands_in_block(block, "x.md")
    assert (command.command, command.expected_exit) == ("echo '#1' # exit code 3", 0)


def test_a_command_passes_only_with_the_exit_status_the_doc_expects():
    env = {"PATH": "/usr/bin:/bin"}
    assert run_command(DocCommand("x.md", 1, "exit 3", 3), env) is None
    assert run_command(DocCommand("x.md", 1, "true | false", 0), env).startswith("x.md:1: `true | false` exited 1")
    assert "exited 0, the doc expects 2" in run_command(DocCommand("x.md", 1, "echo hi", 2), env)

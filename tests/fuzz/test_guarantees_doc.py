"""docs/guarantees.md names, for each promise, the tests that prove it: they must all exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "guarantees.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def cited() -> list[tuple[str, str]]:
    return CITED.findall(DOC.read_text())


def test_every_cited_test_exists():
    missing = [f"{path}::{name}" for path, name in cited()
               if not (ROOT / path).is_file()
               or not re.search(rf"^(?:async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)]
    assert missing == []


def test_every_section_cites_tests():
    sections = re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)[1:]
    assert len(sections) >= 9
    assert [s.splitlines()[0] for s in sections if not CITED.search(s)] == []
    assert len(cited()) >= 60

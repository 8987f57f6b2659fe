"""3,000 random jobs from a seeded generator, through the real sosw 0.7.51 and sosw-core.

The generator favours what the job format is made of (levels written plural, objects of
subdata, objects of nulls, flat lists, isolation and batch flags at any depth, custom keys,
periods) and mixes in, less often, what sosw 0.7 got wrong (singular keys, values it crashed
on, keys it generated itself, a ``payload`` key, ``job_id`` and ``job_schema_name`` as data).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

from tests.differential.sosw07 import REFUSED_CRASH, SAME, Case, compare, requires_sosw07

pytestmark = requires_sosw07

SEED = 20190131
COUNT = 3000
LEVEL_SETS = [("section", "store", "product"), ("section", "store", "product"), ("topic", "word"), ("item",)]
NAMES = ["a", "b", "c", "d", "zeta", "alpha", "7"]
SCALARS = ["x", "y", "z", 0, 1, 2, 740, 2.5, True, False, "product,4"]
PERIODS = ["today", "yesterday", "last_2_days", "last_3_days", "3_days_back", "0_days_back", "previous_2_days",
           "last_week", "last_0_days", "todayX", "last_2_days_x", "bogus", ""]
SIZES = [1, 2, 3, "2", 2.5, True, 0, -1, 1_000_000, "x", None]
CUSTOM = {"k": [1, "v", None, {"deep": [1, 2]}], "note": ["n1", 0], "region": ["eu", "us"],
          "job_id": ["nightly-1", "free text / with spaces"], "job_schema_name": ["default", ""],
          "payload": [{"p": 1, "k": 9}, '{"p": 2}', "plain text", 5, "[1, 2]"],
          "attempts": [0, "0", 3], "task_id": ["", "t-1"], "labourer_id": ["w", "other"]}


class Generator:
    def __init__(self, rng: random.Random, levels: tuple[str, ...]):
        self.rng = rng
        self.levels = levels

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def flags(self, depth: int) -> dict[str, Any]:
        flags: dict[str, Any] = {}
        for level in self.levels[depth:]:
            if self.chance(0.15):
                flags[f"isolate_{level}s"] = self.rng.choice([True, True, True, False, "yes", 0])
            if self.chance(0.06):
                flags[f"max_{level}s_per_batch"] = self.rng.choice(SIZES[:6] if self.chance(0.8) else SIZES)
        return flags

    def custom(self, rare: float) -> dict[str, Any]:
        keys = ["k", "note", "region"] + (list(CUSTOM)[3:] if self.chance(rare) else [])
        return {key: self.rng.choice(CUSTOM[key]) for key in keys if self.chance(0.3)}

    def value(self, depth: int) -> Any:
        last = depth + 1 >= len(self.levels)
        roll = self.rng.random()
        names = self.rng.sample(NAMES, self.rng.randint(1, 4))
        if roll < 0.35 and not last:
            return {name: self.body(depth + 1) if self.chance(0.65) else None for name in names}
        if roll < 0.55:
            return dict.fromkeys(names)
        if roll < 0.75 and (last or self.chance(0.3)):
            return self.rng.sample(SCALARS, self.rng.randint(1, 5))
        if roll < 0.82:
            return self.rng.choice(SCALARS)
        if roll < 0.88:
            return self.rng.choice([None, [], {}, ""])
        if roll < 0.92:
            return [dict.fromkeys(self.rng.sample(NAMES, 2)), dict.fromkeys(self.rng.sample(NAMES, 1))]
        if last:
            return {name: {"price": self.rng.randint(1, 9)} if self.chance(0.5) else None for name in names}
        return {names[0]: {"raw": 1}}

    def body(self, depth: int) -> dict[str, Any]:
        body: dict[str, Any] = {**self.custom(0.0), **self.flags(depth)}
        level = self.levels[depth]
        if self.chance(0.9):
            key = level if self.chance(0.08) else f"{level}s"
            body[key] = self.value(depth)
            if self.chance(0.01):
                body[level if key.endswith("s") else f"{level}s"] = self.value(depth)
        items = list(body.items())
        self.rng.shuffle(items)
        return dict(items)

    def job(self) -> dict[str, Any]:
        job = {"lambda_name": "w", **self.custom(0.25), **self.body(0)}
        if self.chance(0.35):
            job["period"] = self.rng.choice(PERIODS)
            if self.chance(0.5):
                job["isolate_days"] = self.rng.choice([True, True, False])
        return job


def random_cases() -> list[Case]:
    rng = random.Random(SEED)
    cases = []
    for number in range(COUNT):
        levels = rng.choice(LEVEL_SETS)
        job = Generator(rng, levels).job()
        today = date(2019, 1, 28) + timedelta(days=rng.randint(0, 6))  # Monday..Sunday
        event: Any = job if rng.random() < 0.8 else rng.choice([{"job": job}, json.dumps(job)])
        cases.append(Case(f"random_{number}", event, attrs=levels, today=today))
    return cases


def test_random_jobs_give_sosw_payloads():
    cases = random_cases()
    assert len(cases) == COUNT
    verdicts, key_order = compare(cases)
    # not a degenerate generator: most jobs are made the same, and each kind of difference occurs
    assert verdicts[SAME] >= COUNT * 0.6
    assert verdicts[REFUSED_CRASH] >= COUNT * 0.05
    assert verdicts["fixed: singular level key (sosw made those tasks twice)"] > 0
    assert verdicts["fixed: custom keys beside an unchunked level kept (sosw dropped them)"] > 0
    assert key_order == verdicts[SAME]

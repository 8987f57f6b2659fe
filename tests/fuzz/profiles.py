"""Names of the fuzz profiles (registered in ``conftest.py``) and example counts per test."""

from __future__ import annotations

from hypothesis import settings

CI = "ci"
CHAOS = "chaos"
PROFILE_ENV = "SOSW_FUZZ_PROFILE"


def examples(ci: int, chaos: int | None = None) -> settings:
    """Settings for one test: ``ci`` examples under the ci profile; under any other profile the
    profile's ``max_examples``, or ``chaos`` when given (tests that write to tables)."""
    current = settings.default
    if settings.get_current_profile_name() == CI:
        return settings(current, max_examples=ci)
    return settings(current, max_examples=chaos or current.max_examples)

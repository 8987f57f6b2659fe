"""ConfigWatch: a warm container rebuilds when its config's version changed, checked at most
every ``check_seconds`` (issue 14, finding 6). Loading and versions are stand-ins here; the
entry points on moto's SSM are in test_essential_handlers.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sosw_core.config.model import SoswConfig
from sosw_core.config.watch import ConfigWatch, check_seconds_from
from sosw_core.errors import ConfigError
from tests.support import labourer


class Source:
    """A config source: its document (labourer ids) and its version; counts version reads."""

    def __init__(self):
        self.ids, self.number, self.reads, self.failure = ("a",), 1, 0, None

    def change(self, *ids: str) -> None:
        self.ids, self.number = ids, self.number + 1

    def load(self, component: str) -> SoswConfig:
        return SoswConfig(labourers=tuple(labourer(i) for i in self.ids))

    def version(self, component: str) -> tuple:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return (("ssm:/p", self.number),)


class Timer:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watch(source: Source, timer: Timer, check_seconds: float = 60.0) -> ConfigWatch:
    return ConfigWatch("orchestrator", lambda config: [lab.id for lab in config.labourers],
                       load=source.load, version=source.version, timer=timer, check_seconds=check_seconds)


def test_nothing_is_read_before_the_first_get():
    source = Source()
    watched = watch(source, Timer())
    assert (source.reads, watched.builds) == (0, 0)
    assert watched.get() == ["a"] and watched.builds == 1


def test_a_change_is_seen_at_the_first_get_after_the_interval_and_not_before():
    source, timer = Source(), Timer()
    watched = watch(source, timer)
    assert watched.get() == ["a"]
    source.change("a", "b")
    timer.now += 59.9
    assert watched.get() == ["a"] and source.reads == 1  # within the interval: not even asked
    timer.now += 0.1
    assert watched.get() == ["a", "b"] and watched.builds == 2
    timer.now += 60
    assert watched.get() == ["a", "b"] and watched.builds == 2 and source.reads == 3  # same version: kept


def test_a_failed_check_keeps_the_last_good_objects_and_is_tried_again_next_interval(caplog):
    source, timer = Source(), Timer()
    watched = watch(source, timer)
    first = watched.get()
    source.change("b")
    source.failure = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                                 "GetParameter")
    timer.now += 60
    assert watched.get() is first
    assert "config version not read" in caplog.text
    source.failure = None
    timer.now += 30
    assert watched.get() is first  # the failed check counts as a check
    timer.now += 30
    assert watched.get() == ["b"]


def test_a_deleted_parameter_or_an_invalid_new_config_raises():
    source, timer = Source(), Timer()
    watched = watch(source, timer, check_seconds=0)
    watched.get()
    source.failure = ConfigError("document", "the SSM parameter does not exist", "ssm:/p")
    with pytest.raises(ConfigError):
        watched.get()


def test_the_interval_comes_from_the_environment_and_is_checked():
    assert check_seconds_from({}) == 60.0
    assert check_seconds_from({"SOSW_CONFIG_CHECK_SECONDS": "5"}) == 5.0
    for bad in ("soon", "-1"):
        with pytest.raises(ConfigError, match="SOSW_CONFIG_CHECK_SECONDS"):
            check_seconds_from({"SOSW_CONFIG_CHECK_SECONDS": bad})

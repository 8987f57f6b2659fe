"""Objects built from a component's config, rebuilt when the config changes under a warm container.

Each Lambda entry point builds its essential once per execution environment and reuses it while
the environment lives (hours, for the always-busy Orchestrator). A :class:`ConfigWatch` asks,
at most every ``check_seconds`` (``SOSW_CONFIG_CHECK_SECONDS``, default 60), whether the
config's changeable sources have a new version (:func:`~sosw_core.config.loader.config_version`:
``stat`` of the config files; one SSM ``GetParameter`` when ``SOSW_CONFIG_SSM_PARAMETER`` is
set), and loads the config and builds again when they do.

The bound, per source:

* the environment (``SOSW_CONFIG_JSON``: how the stack passes ``ConfigDocument``): a stack
  update changes the function's configuration, and Lambda runs the invocations after it in new
  execution environments ("the function is processing events with the new configuration" once
  ``LastUpdateStatus`` is ``Successful``, AWS Lambda API Reference, UpdateFunctionConfiguration);
  nothing to check;
* an SSM parameter or config files: the first invocation that starts ``check_seconds`` or more
  after the last check sees the change; an invocation already running (an Orchestrator run, at
  most its timeout) finishes with the config it started with.

Cost: with SSM, one ``GetParameter`` per warm container per ``check_seconds`` at most (Parameter
Store's default throughput is 40 per second per account and Region, shared; 200 warm containers
checking every 60 s take 3.3). A check that fails (throttled, no network) keeps the objects
built from the last good config, logs a warning and is tried again at the next interval; a new
config that is invalid raises, as it would at a cold start.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sosw_core.config.loader import config_version, load_config
from sosw_core.config.model import SoswConfig
from sosw_core.errors import ConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")
CHECK_SECONDS_ENV = "SOSW_CONFIG_CHECK_SECONDS"
DEFAULT_CHECK_SECONDS = 60.0


def _transient_errors() -> tuple[type[BaseException], ...]:
    """What a version check may meet and get over: AWS errors (botocore, loaded only when SSM is
    in use, which already loaded it) and OS errors (a file replaced while read)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, OSError)


def check_seconds_from(environ: Mapping[str, str]) -> float:
    text = environ.get(CHECK_SECONDS_ENV) or str(DEFAULT_CHECK_SECONDS)
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(CHECK_SECONDS_ENV, f"must be a number of seconds, got {text!r}",
                          f"env {CHECK_SECONDS_ENV}") from None
    if seconds < 0:
        raise ConfigError(CHECK_SECONDS_ENV, f"must be 0 or more, got {text!r}", f"env {CHECK_SECONDS_ENV}")
    return seconds


class ConfigWatch(Generic[T]):
    """``get()``: what ``build(config)`` made from the component's current config.

    ``setup`` runs once, before the first load (e.g. the Lambda logging setup). ``load`` and
    ``version`` take the component name (defaults: :func:`load_config`, :func:`config_version`);
    ``timer`` gives monotonic seconds. Nothing is read until the first ``get()``.
    """

    def __init__(self, component: str, build: Callable[[SoswConfig], T], *,
                 setup: Callable[[], Any] | None = None, check_seconds: float | None = None,
                 load: Callable[[str], SoswConfig] = load_config,
                 version: Callable[[str], tuple[Any, ...]] = config_version,
                 timer: Callable[[], float] = time.monotonic, environ: Mapping[str, str] | None = None):
        self.component = component
        self.build = build
        self.setup = setup
        self.load = load
        self.version = version
        self.timer = timer
        self.environ = os.environ if environ is None else environ
        self._check_seconds = check_seconds
        self._built: T | None = None
        self._version: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self.builds = 0  # how many times build ran (for logs and tests)

    def fresh(self) -> ConfigWatch[T]:
        """A new, unbuilt watch with the same settings."""
        return ConfigWatch(self.component, self.build, setup=self.setup, check_seconds=self._check_seconds,
                           load=self.load, version=self.version, timer=self.timer, environ=self.environ)

    def get(self) -> T:
        if self._built is None:
            if self.setup is not None:
                self.setup()
            return self._rebuild(self.version(self.component), self.timer())
        now = self.timer()
        if now - self._checked_at < self._interval():
            return self._built
        self._checked_at = now
        try:
            current = self.version(self.component)
        except Exception as exc:
            if not isinstance(exc, _transient_errors()):
                raise  # ConfigError (the parameter was deleted), or a bug
            # throttled, no network: keep the last good config, try again at the next interval
            logger.warning("config version not read; keeping the current config",
                           extra={"component": self.component, "error": f"{type(exc).__name__}: {exc}"})
            return self._built
        if current == self._version:
            return self._built
        logger.info("config changed: rebuilding", extra={"component": self.component})
        return self._rebuild(current, now)

    def _rebuild(self, version: tuple[Any, ...], now: float) -> T:
        built = self.build(self.load(self.component))
        self._built, self._version, self._checked_at = built, version, now
        self.builds += 1
        return built

    def _interval(self) -> float:
        if self._check_seconds is None:
            self._check_seconds = check_seconds_from(self.environ)
        return self._check_seconds

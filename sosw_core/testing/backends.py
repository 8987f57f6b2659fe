"""Where a test's tasks live: in memory (the default), in moto, or in a DynamoDB Local.

* ``memory`` (:func:`memory_backend`): the in-memory store
  (:mod:`sosw_core.adapters.memory`), with the same guarded writes, outcomes and errors as the
  DynamoDB store (one contract suite runs on both). Needs nothing beyond ``pip install sosw-core``.
* ``moto`` (:func:`moto_backend`): the real DynamoDB store on moto's in-process emulation; needs
  moto (the ``test`` extra), imported only when this backend is chosen.
* ``dynamodb-local`` (:func:`dynamodb_local_backend`): the real DynamoDB store on DynamoDB
  Local (needs Java), closest to AWS.

The DynamoDB backends create the real tables from the code's schema
(:func:`sosw_core.adapters.dynamodb.create_tables`) under fresh names. None can reach AWS:
:func:`fake_aws_env` sets throw-away credentials and a region for as long as a backend is open,
and a DynamoDB Local backend points every client at its local endpoint.

Usable without pytest::

    with memory_backend(labourers=["sum"]) as backend:
        harness = WorkerHarness(backend.store, backend.config)
        ...
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sosw_core.config.model import Backoff, LabourerConfig, SoswConfig, TablesConfig

if TYPE_CHECKING:
    from sosw_core.adapters.dynamodb import Store
    from sosw_core.adapters.memory import MemoryStore

MEMORY = "memory"
MOTO = "moto"
DYNAMODB_LOCAL = "dynamodb-local"
BACKENDS = (MEMORY, MOTO, DYNAMODB_LOCAL)

DEFAULT_REGION = "us-east-1"
# Credentials that are obviously fake: a client built with them can sign requests for moto and
# DynamoDB Local, and AWS itself refuses them.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": DEFAULT_REGION,
    "AWS_REGION": DEFAULT_REGION,
}
# Removed while the fake environment is open, so no profile or container role is picked up.
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
# A labourer for tests that name none: one attempt's lease of a minute, three attempts, exact
# (unjittered) backoff so the due time of a retry can be read off the row.
TEST_LABOURER = "worker"
TEST_BACKOFF = Backoff(base_seconds=10, factor=2, cap_seconds=300, jitter=0)


class BackendError(ValueError):
    """A backend was asked for by a name that is not one of :data:`BACKENDS`."""


@dataclass(frozen=True)
class Backend:
    """A store with fresh tables, and the config it was opened with."""

    name: str  # "memory", "moto" or "dynamodb-local"
    config: SoswConfig
    store: Store | MemoryStore

    @property
    def endpoint(self) -> str | None:
        """The DynamoDB Local endpoint; None on memory and moto."""
        return self.config.dynamodb.endpoint_url


@contextmanager
def fake_aws_env() -> Iterator[None]:
    """Fake credentials and a region in ``os.environ`` while open; the previous values after."""
    saved = {name: os.environ.get(name) for name in (*FAKE_AWS_ENV, *UNSET_AWS_ENV)}
    os.environ.update(FAKE_AWS_ENV)
    for name in UNSET_AWS_ENV:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def labourer_config(labourer: LabourerConfig | str) -> LabourerConfig:
    """A :class:`LabourerConfig` as given, or a test labourer of that id (lease 60 s, 3 attempts,
    backoff 10 s doubling, no jitter)."""
    if isinstance(labourer, LabourerConfig):
        return labourer
    if not isinstance(labourer, str) or not labourer:
        raise TypeError(f"labourers: each must be a LabourerConfig or a non-empty id, not {labourer!r}")
    return LabourerConfig(id=labourer, max_simultaneous_invocations=10, max_duration_seconds=60,
                          max_attempts=3, backoff=TEST_BACKOFF)


def base_config(labourers: Iterable[LabourerConfig | str] = (TEST_LABOURER,)) -> SoswConfig:
    """A config with these labourers and defaults elsewhere (tables and endpoint are set per backend)."""
    labs = tuple(labourer_config(lab) for lab in labourers)
    if not labs:
        raise ValueError("labourers: at least one labourer is needed to run a worker")
    return SoswConfig(labourers=labs)


def _isolated(config: SoswConfig, endpoint: str | None) -> SoswConfig:
    """``config`` on fresh table names and the given endpoint (None: moto), in the fake region."""
    suffix = uuid.uuid4().hex[:12]
    return replace(
        config,
        tables=TablesConfig(tasks=f"test_tasks_{suffix}", jobs=f"test_jobs_{suffix}"),
        dynamodb=replace(config.dynamodb, endpoint_url=endpoint,
                         region=config.dynamodb.region or DEFAULT_REGION),
    )


def _config(config: SoswConfig | None, labourers: Iterable[LabourerConfig | str] | None) -> SoswConfig:
    if config is not None and labourers is not None:
        raise ValueError("pass either config or labourers, not both")
    if config is not None:
        if not config.labourers:
            raise ValueError("config.labourers: at least one labourer is needed to run a worker")
        return config
    return base_config(labourers if labourers is not None else (TEST_LABOURER,))


@contextmanager
def memory_backend(config: SoswConfig | None = None, *,
                   labourers: Iterable[LabourerConfig | str] | None = None) -> Iterator[Backend]:
    """Empty tables in memory (:func:`sosw_core.adapters.memory.open_memory_store`); gone at exit.

    ``config`` (e.g. your own, loaded with :func:`sosw_core.config.load_config`) gives the
    labourers and their rules; its table names and endpoint are replaced, as on the other
    backends. Or pass ``labourers`` (configs or ids). The fake AWS environment is set while it
    is open, so a worker that calls AWS itself cannot reach the real one.
    """
    from sosw_core.adapters.memory import open_memory_store

    base = _config(config, labourers)
    with fake_aws_env():
        isolated = _isolated(base, None)
        yield Backend(MEMORY, isolated, open_memory_store(isolated))


@contextmanager
def moto_backend(config: SoswConfig | None = None, *,
                 labourers: Iterable[LabourerConfig | str] | None = None) -> Iterator[Backend]:
    """Tables in moto's in-memory DynamoDB (``mock_aws``); everything is gone at exit.

    ``config`` (e.g. your own, loaded with :func:`sosw_core.config.load_config`) gives the
    labourers and their rules; its table names and endpoint are replaced. Or pass
    ``labourers`` (configs or ids). Needs moto (the ``test`` extra).
    """
    from moto import mock_aws  # deferred: only this backend needs moto

    from sosw_core.adapters.dynamodb import create_tables, open_store

    base = _config(config, labourers)
    with fake_aws_env(), mock_aws():
        isolated = _isolated(base, None)
        store = open_store(isolated)
        create_tables(store.models)
        yield Backend(MOTO, isolated, store)


@contextmanager
def dynamodb_local_backend(config: SoswConfig | None = None, *,
                           labourers: Iterable[LabourerConfig | str] | None = None,
                           endpoint: str | None = None) -> Iterator[Backend]:
    """Fresh tables in a DynamoDB Local, dropped at exit.

    With ``endpoint`` (e.g. ``http://127.0.0.1:8000``) that DynamoDB Local is used; without,
    one is started (fetched once, needs Java; see :mod:`sosw_core.local.dynamodb_local`) and
    stopped at exit. ``config``/``labourers`` as for :func:`moto_backend`.
    """
    from sosw_core.adapters.dynamodb import create_tables, delete_tables, open_store

    base = _config(config, labourers)
    with ExitStack() as stack:
        stack.enter_context(fake_aws_env())
        if endpoint is None:
            from sosw_core.local.dynamodb_local import start

            endpoint = stack.enter_context(start()).endpoint
        isolated = _isolated(base, endpoint)
        store = open_store(isolated)
        create_tables(store.models)
        stack.callback(delete_tables, store.models)
        yield Backend(DYNAMODB_LOCAL, isolated, store)


@contextmanager
def open_backend(name: str, config: SoswConfig | None = None, *,
                 labourers: Iterable[LabourerConfig | str] | None = None,
                 endpoint: str | None = None) -> Iterator[Backend]:
    """:func:`memory_backend`, :func:`moto_backend` or :func:`dynamodb_local_backend` by name
    (``"memory"``, ``"moto"``, ``"dynamodb-local"``)."""
    check_name(name)
    if name != DYNAMODB_LOCAL and endpoint is not None:
        raise BackendError("endpoint: only the dynamodb-local backend takes an endpoint")
    opened: AbstractContextManager[Backend]
    if name == MEMORY:
        opened = memory_backend(config, labourers=labourers)
    elif name == MOTO:
        opened = moto_backend(config, labourers=labourers)
    else:
        opened = dynamodb_local_backend(config, labourers=labourers, endpoint=endpoint)
    with opened as backend:
        yield backend


def check_name(name: object) -> str:
    """``name`` if it is one of :data:`BACKENDS`; else :class:`BackendError` naming them."""
    if name not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)} (got {name!r})")
    return str(name)

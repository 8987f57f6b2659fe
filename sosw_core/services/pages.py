"""The Scheduler's write pipeline: pages of task items in flight on a pool of writer threads.

A page is the unit of progress (the job record's cursor moves by whole pages). Its rows go out
in groups of :data:`ROWS_PER_WRITE` (one BatchWriteItem each on DynamoDB) on ``writers`` threads; up to ``depth`` pages are in flight at once, so
the writers always have work while the Ingestor builds the next page and records the previous
one. Pages complete **in order**: :meth:`PagePipeline.oldest_done` waits for the oldest page's
writes before its cursor may move, so the cursor never passes a row that is not written.

What this means after a crash: rows may exist in the ``depth`` pages after the saved cursor and
nowhere beyond, which is why a resumed ingestion checks that many pages for existing rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

DEPTH = 2  # pages in flight: one being written while the next is queued behind it
ROWS_PER_WRITE = 25  # rows per ``write`` call: DynamoDB's BatchWriteItem limit, so one request each

_T = TypeVar("_T")


def chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


@dataclass(frozen=True)
class Page:
    """One page sent to the writers: ``size`` tasks from position ``start``, ``found`` of them
    already in the table (not sent)."""

    start: int
    size: int
    found: int
    futures: tuple[Future, ...]


class PagePipeline:
    """Sends pages' rows to ``writers`` threads; hands pages back in order once written.

    ``write``: the store's ``write_rows`` (rows are whatever its ``row_factory`` builds)."""

    def __init__(self, write: Callable[[Sequence[Any]], None], *, writers: int, depth: int = DEPTH):
        if writers < 1 or depth < 1:
            raise ValueError(f"writers and depth must be at least 1 (got {writers}, {depth})")
        self._write = write
        self.depth = depth
        self._pending: deque[Page] = deque()
        self._pool = ThreadPoolExecutor(writers, thread_name_prefix="sosw-ingest")

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.depth

    @property
    def empty(self) -> bool:
        return not self._pending

    def send(self, start: int, size: int, found: int, rows: Sequence[Any]) -> None:
        futures = tuple(self._pool.submit(self._write, batch) for batch in chunks(rows, ROWS_PER_WRITE))
        self._pending.append(Page(start, size, found, futures))

    def oldest_done(self) -> Page:
        """Wait until every write of the oldest page is done; the first error propagates."""
        page = self._pending.popleft()
        for future in page.futures:
            future.result()
        return page

    def close(self) -> None:
        """Drop requests not yet started; wait for those in flight (they cannot be recalled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

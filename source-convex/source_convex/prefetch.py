"""Read the next page while the current one is being emitted.

Every page names where the next one starts (its cursor) before a single record of it is
emitted, so the request for page k+1 can be in flight while page k is turned into records.
Convex (or the network) then works in parallel with this process instead of in turn with
it: a long read costs about max(server time, our time) per page instead of their sum.

At most one request is in flight and at most two pages are held, so memory stays flat.
Pages are still consumed strictly in order, so records and states go out exactly as a
sequential read would send them, and an error of page k+1 surfaces when page k+1 is
needed, as it would sequentially. Requests run on one daemon worker thread: an abandoned
read (an error elsewhere, or the platform stopping the sync) never keeps the process alive,
and a request still running for it is simply dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
P = TypeVar("P")


class _Pending(Generic[K, P]):
    """One request, run by the worker thread; `result()` waits for it."""

    def __init__(self, fetch: Callable[[K], P], key: K) -> None:
        self._fetch = fetch
        self._key = key
        self._done = threading.Event()
        self._page: P | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._page = self._fetch(self._key)
        except BaseException as err:  # handed to the reader thread, which raises it
            self._error = err
        finally:
            self._done.set()

    def result(self) -> P:
        self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._page  # type: ignore[return-value]


class _Worker:
    """One long-lived daemon thread that runs requests in order. One thread for the whole
    process, not one per page: short-lived threads each take their own malloc arena, and
    the fragmentation makes the process's memory creep up as tables grow."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Pending[object, object]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="convex-prefetch", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._jobs.get().run()

    def submit(self, fetch: Callable[[K], P], key: K) -> _Pending[K, P]:
        pending: _Pending[K, P] = _Pending(fetch, key)
        self._jobs.put(pending)  # type: ignore[arg-type]
        return pending


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _shared_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _Worker()
        return _worker


def lookahead(
    fetch: Callable[[K], P],
    first_key: K,
    next_key: Callable[[K, P], K | None],
    first_page: P | None = None,
) -> Iterator[P]:
    """Pages `fetch(first_key)`, `fetch(next_key(first_key, page))`, ... until next_key is None.

    `first_page`, when given, is the already-read page for `first_key`. `next_key` may raise
    (e.g. on a cursor that does not advance); it runs before the page is yielded.
    """
    key = first_key
    page = first_page if first_page is not None else fetch(first_key)
    first_page = None  # this frame lives as long as the read: do not pin the first page's documents
    while True:
        following = next_key(key, page)
        pending = _shared_worker().submit(fetch, following) if following is not None else None
        yield page
        if pending is None or following is None:
            return
        key = following
        page = pending.result()

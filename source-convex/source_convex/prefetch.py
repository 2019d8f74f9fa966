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
from concurrent.futures import Future
from functools import partial
from typing import TypeVar

K = TypeVar("K")
P = TypeVar("P")


_Job = tuple["Future[object]", Callable[[], object]]


class IoPool:
    """Daemon threads that run requests; grows to the widest read asked of it, never shrinks.

    Threads live as long as the process, not one per page: short-lived threads each take their
    own malloc arena, and the fragmentation makes the process's memory creep up as tables grow.
    Daemons, so an abandoned read (an error elsewhere, the platform stopping the sync) never keeps
    the process alive; a request still running for it is simply dropped."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = 0
        self._lock = threading.Lock()

    def ensure(self, threads: int) -> IoPool:
        """At least `threads` threads."""
        with self._lock:
            while self._threads < threads:
                self._threads += 1
                name = self._name if self._threads == 1 else f"{self._name}-{self._threads}"
                threading.Thread(target=self._loop, name=name, daemon=True).start()
        return self

    def _loop(self) -> None:
        while True:
            future, call = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as err:  # handed to the reader, which raises it when it needs the page
                future.set_exception(err)

    def submit(self, call: Callable[[], P], wake: threading.Event | None = None) -> Future[P]:
        """Run `call` on a thread; `wake`, if given, is set when it is done (either way)."""
        future: Future[P] = Future()
        if wake is not None:
            future.add_done_callback(lambda _: wake.set())
        self._jobs.put((future, call))  # type: ignore[arg-type]
        return future


#: The one-ahead reads of `lookahead` (one thread: requests run in order).
_LOOKAHEAD = IoPool("convex-prefetch")


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
        pending = _LOOKAHEAD.ensure(1).submit(partial(fetch, following)) if following is not None else None
        yield page
        if pending is None or following is None:
            return
        key = following
        page = pending.result()

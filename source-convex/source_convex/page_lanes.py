"""Lanes: one table's snapshot pages read on a shared pool of I/O threads, one page ahead.

A lane is what `prefetch.lookahead` is for a table read alone, made to share the process
with other tables read at the same time (see `parallel_snapshots`): the request for page
k+1 is sent as soon as page k is read, on one of the pool's threads, and the lane says
whether that page is in yet (`ready`), so the emitter turns to another table instead of
waiting. Before every page the lane's iterator yields None: a turn boundary, where the
emitter may switch tables. Resumed only when `ready`, it never blocks.

Bounds, per lane: one request in flight and at most two pages held (the one being emitted
and the one read ahead), as `lookahead`. With N lanes: N requests, 2N pages in total.

The pool's threads only send requests and decode the answers (the shared client parses a
page in its body filter and parser, on the thread that sent it): records are built and
written on the emitter's thread, in order. The threads are daemons that live as long as the
process: the same `prefetch.IoPool` as `lookahead`'s, with its own threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Generic, TypeVar

from airbyte_cdk.models import AirbyteLogMessage, AirbyteMessage, Level, Type

from .cadence import Checkpoints
from .prefetch import IoPool

K = TypeVar("K")
P = TypeVar("P")

#: Yielded by a lane's snapshot at each turn boundary. Only `parallel_snapshots` sees it (it takes
#: every one); an AirbyteMessage so the snapshot's generators keep their type.
TURN = AirbyteMessage(type=Type.LOG, log=AirbyteLogMessage(level=Level.DEBUG, message="(turn boundary)"))

_pool = IoPool("convex-lane")


def shared_pool(threads: int) -> IoPool:
    """The process's pool of lane threads, with at least `threads` threads."""
    return _pool.ensure(threads)


class Lane(Generic[K, P]):
    """One table's pages at a time; see the module docstring. `checkpoints` are the lane's own
    (their cadence counts this table's pages only; progress is the read's)."""

    def __init__(self, pool: IoPool, checkpoints: Checkpoints, wake: threading.Event) -> None:
        self.checkpoints = checkpoints
        self._pool = pool
        self._wake = wake
        self._pending: Future[P] | None = None

    def ready(self) -> bool:
        """Whether resuming the lane's iterator now would not wait for the network."""
        return self._pending is None or self._pending.done()

    def pages(
        self,
        fetch: Callable[[K], P],
        first_key: K,
        next_key: Callable[[K, P], K | None],
        read_first: Callable[[], P],
        first_page: P | None = None,
    ) -> Iterator[P | None]:
        """None, page 1, None, page 2, ...: `first_page` or else `read_first()`, then
        `fetch(next_key(key, page))` until next_key is None. `next_key` may raise; it runs before
        its page is yielded, as in `lookahead`."""
        key = first_key
        pending: Future[P] | None
        if first_page is None:
            pending = self._pool.submit(read_first, self._wake)
        else:
            pending = Future()
            pending.set_result(first_page)
            first_page = None  # held by the future only until it is taken
        try:
            while pending is not None:
                self._pending = pending
                yield None
                page = pending.result()  # done: the emitter resumes a lane only when it is ready
                self._pending = pending = None
                following = next_key(key, page)
                if following is not None:
                    pending = self._pool.submit(partial(fetch, following), self._wake)
                    key = following
                yield page
                del page  # not held while the next page is awaited
        finally:
            self._pending = None

"""Sends import requests on a few worker threads, in parallel across tables, in order within one.

The main thread keeps reading and serializing input while requests are in flight; this module
decides when each submitted request may start:
- at most `max_parallel` requests run at once;
- a request starts only when none of its tables has a request running, and never before an
  earlier submitted request that shares a table. One table's requests therefore reach Convex
  strictly in input order (dedup keeps the last write; acknowledgements arrive in order, which
  is what `checkpoints` relies on);
- `submit` blocks while the bodies already queued or in flight exceed `max_in_flight_bytes`,
  and while one of its tables already has a request queued behind a running one (that queued
  request is enough to keep the table's lane busy; more would only hold memory). Memory stays
  bounded by buffered plus in-flight bytes.

A failed request (after the shared client's own retries) stops all further starts; the failure
is re-raised in the main thread at its next call. Workers are daemon threads so a failed sync
exits without waiting for requests that no longer matter.
"""

from __future__ import annotations

import collections
import queue
import threading
from collections.abc import Callable

from .batches import ImportRequest


class RequestFailed(Exception):
    """A request failed for good; `cause` is what the send function raised."""

    def __init__(self, request: ImportRequest, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.request = request
        self.cause = cause


class Pipeline:
    """Bounded, per-table-ordered parallel sending of import requests."""

    def __init__(
        self,
        send: Callable[[ImportRequest], None],
        *,
        max_parallel: int,
        max_in_flight_bytes: int,
        on_complete: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._max_parallel = max_parallel
        self._max_bytes = max_in_flight_bytes
        self.on_complete = on_complete
        self._cond = threading.Condition()
        self._waiting: collections.deque[ImportRequest] = collections.deque()
        self._running_tables: set[str] = set()
        self._outstanding: collections.Counter[str] = collections.Counter()
        #: Requests per table submitted but not started.
        self._queued: collections.Counter[str] = collections.Counter()
        self._running = 0
        self._bytes = 0
        self._done: list[ImportRequest] = []
        self._failure: RequestFailed | None = None
        self._work: queue.SimpleQueue[ImportRequest | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._worker, name=f"convex-import-{index}", daemon=True)
            for index in range(max_parallel)
        ]
        self._started = False
        self.submitted = 0
        self.peak_bytes = 0
        self._blocked_submits = 0

    def start(self) -> None:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def stop(self) -> None:
        """Let idle workers exit (requests still running finish on their own)."""
        if self._started:
            for _ in self._threads:
                self._work.put(None)
            self._started = False

    def submit(self, request: ImportRequest) -> None:
        """Queue a request, waiting while too many bytes are queued or in flight."""
        size = len(request.body)
        with self._cond:
            self._blocked_submits += 1  # seen by others only while the wait below has released the lock
            try:
                while (
                    self._failure is None
                    and self._bytes > 0
                    and (self._bytes + size > self._max_bytes or any(self._queued[table] for table in request.counts))
                ):
                    self._cond.wait()
            finally:
                self._blocked_submits -= 1
            self._raise_if_failed()
            self._waiting.append(request)
            self._bytes += size
            self.peak_bytes = max(self.peak_bytes, self._bytes)
            self._outstanding.update(request.counts.keys())
            self._queued.update(request.counts.keys())
            self.submitted += 1
            self._dispatch()

    def busy(self, table: str) -> bool:
        """True while a request holding `table` is queued or running."""
        with self._cond:
            return self._outstanding[table] > 0

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing running."""
        with self._cond:
            return not self._waiting and self._running == 0

    @property
    def blocked_submits(self) -> int:
        """`submit` calls waiting for room (bytes in flight, or their table's one queue slot)."""
        with self._cond:
            return self._blocked_submits

    @property
    def in_flight_bytes(self) -> int:
        with self._cond:
            return self._bytes

    def completed(self) -> list[ImportRequest]:
        """Requests acknowledged since the last call (raises the failure first, if any)."""
        with self._cond:
            self._raise_if_failed()
            done, self._done = self._done, []
            return done

    def wait(self, timeout: float) -> None:
        """Block until some request completes or fails, or `timeout` passes."""
        with self._cond:
            if self._failure is None and not self._done and (self._waiting or self._running):
                self._cond.wait(timeout)

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _dispatch(self) -> None:
        """Start waiting requests that may run now (caller holds the lock)."""
        if self._failure is not None:
            return
        blocked: set[str] = set()
        for request in list(self._waiting):
            if self._running >= self._max_parallel:
                return
            tables = request.counts.keys()
            if any(table in self._running_tables or table in blocked for table in tables):
                # Later requests of these tables must not overtake this one.
                blocked.update(tables)
                continue
            self._waiting.remove(request)
            self._queued.subtract(tables)
            self._running_tables.update(tables)
            self._running += 1
            self._work.put(request)

    def _worker(self) -> None:
        while True:
            request = self._work.get()
            if request is None:
                return
            failure: RequestFailed | None = None
            try:
                self._send(request)
            except BaseException as exc:
                failure = RequestFailed(request, exc)
            with self._cond:
                self._running -= 1
                self._running_tables.difference_update(request.counts.keys())
                self._outstanding.subtract(request.counts.keys())
                self._bytes -= len(request.body)
                if failure is not None:
                    if self._failure is None:
                        self._failure = failure
                else:
                    self._done.append(request)
                    self._dispatch()
                self._cond.notify_all()
            if self.on_complete is not None:
                self.on_complete()

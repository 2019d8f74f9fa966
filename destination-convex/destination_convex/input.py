"""Airbyte messages from stdin, as plain dicts, in batches.

A daemon thread reads raw bytes from the file descriptor (whatever is available, up to 1 MiB
at a time) into a small bounded queue; the main thread splits lines and decodes them with
orjson. Reading on a thread means the main thread never blocks on a quiet source: it wakes
on a timer (to flush aged buffers) and whenever a request completes (to emit states at once).

Messages stay dicts rather than CDK model objects: decoding is about twice as fast, and a
STATE message is passed on with every field it came with (the CDK models drop unknown ones).

A line that is not JSON, or not a JSON object with a `type`, is skipped with a log line that
gives its number and size but never its content (it may hold secrets or personal data); the
CDK's own reader logs the content, which is why this module replaces it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

READ_BYTES = 1024 * 1024
#: Chunks the reader thread may get ahead of the main thread (bounds memory to ~8 MiB).
QUEUED_CHUNKS = 8
#: Skipped lines logged one by one; after that only the total is logged at the end.
LOGGED_SKIPS = 10

_WAKE = object()
_EOF = b""


class LineDecoder:
    """Splits a byte stream into lines and decodes each into a message dict."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._partial: list[bytes] = []
        self.lines = 0
        self.skipped = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Messages of every complete line in `chunk` (a trailing partial line is kept)."""
        lines = chunk.split(b"\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial = []
        tail = lines.pop()
        if tail:
            self._partial.append(tail)
        return self.decode_lines(lines)

    def finish(self) -> list[dict[str, Any]]:
        """The message on a last line that has no newline after it, if any."""
        if not self._partial:
            return []
        line = b"".join(self._partial)
        self._partial = []
        return self.decode_lines([line])

    def decode_lines(self, lines: Iterable[bytes]) -> list[dict[str, Any]]:
        messages = []
        loads = orjson.loads
        for line in lines:
            self.lines += 1
            if not line or line.isspace():
                continue
            try:
                message = loads(line)
            except orjson.JSONDecodeError:
                self._skip(len(line), "it is not valid JSON")
                continue
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                self._skip(len(line), "it is not an Airbyte message (a JSON object with a type)")
                continue
            messages.append(message)
        return messages

    def _skip(self, size: int, reason: str) -> None:
        self.skipped += 1
        if self.skipped <= LOGGED_SKIPS:
            self._logger.warning(
                f"Skipped input line {self.lines} ({size} bytes): {reason}. Its content is not logged."
            )


class StdinReader:
    """Reads a file descriptor on a daemon thread; `batches` yields decoded messages."""

    def __init__(self, fd: int, logger: logging.Logger) -> None:
        self._fd = fd
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._thread = threading.Thread(target=self._read, name="stdin-reader", daemon=True)
        self.decoder = LineDecoder(logger)

    def wake(self) -> None:
        """Make a waiting `batches` yield (an empty batch) now; safe from any thread."""
        # A full queue: the main thread has input to process and will look around anyway.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_WAKE)

    def batches(self, tick_s: float) -> Iterator[list[dict[str, Any]]]:
        """Message batches until end of input; an empty batch on a timer tick or a wake-up."""
        self._thread.start()
        while True:
            try:
                item = self._queue.get(timeout=tick_s)
            except queue.Empty:
                yield []
                continue
            if item is _WAKE:
                yield []
            elif isinstance(item, OSError):
                raise item
            elif item == _EOF:
                yield self.decoder.finish()
                return
            else:
                assert isinstance(item, bytes)
                yield self.decoder.feed(item)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, READ_BYTES)
            except InterruptedError:
                continue
            except OSError as err:
                self._queue.put(err)
                return
            self._queue.put(chunk)
            if not chunk:
                return


class IterableSource:
    """The same interface over messages already in memory (the CDK's `write()` entry point)."""

    def __init__(self, messages: Iterable[dict[str, Any]], batch_size: int = 1000) -> None:
        self._messages = messages
        self._batch_size = batch_size

    def wake(self) -> None:
        """Nothing to wake: batches are produced as fast as the iterable yields."""

    def batches(self, tick_s: float) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for message in self._messages:
            batch.append(message)
            if len(batch) >= self._batch_size:
                yield batch
                batch = []
        yield batch

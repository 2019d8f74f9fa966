"""A record of every request the deployment answered, for tests to assert on (never keys)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterator


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    route: str  # the path, e.g. "/api/list_snapshot"
    params: dict[str, Any]  # query params and small body fields; never the key, never documents
    status: int  # 0 when the connection was reset with no response
    bytes_in: int
    bytes_out: int
    at_ns: int
    client: str | None = None  # the Convex-Client header
    fault: str | None = None  # the injected fault kind, if any

    @property
    def name(self) -> str:
        """The route's last path segment ("list_snapshot")."""
        return self.route.rstrip("/").rsplit("/", 1)[-1]


class RequestLog:
    """List-like and thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RequestLogEntry] = []

    def append(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self, route: str | None = None) -> list[RequestLogEntry]:
        """All entries, or those whose route or last segment equals `route`."""
        with self._lock:
            found = list(self._entries)
        if route is None:
            return found
        return [e for e in found if e.route == route or e.name == route]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[RequestLogEntry]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> RequestLogEntry:
        with self._lock:
            return self._entries[index]

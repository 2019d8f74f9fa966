"""A fake Convex deployment for answers the real one never gives: a small route table over
the standard library's HTTP server, on 127.0.0.1 with an ephemeral port.

`FakeConvex(handler)` calls `handler(request)` for every request and sends back what it
returns. `ScriptedExport` is a handler that serves one table the way Convex's streaming export
does (json_schemas, list_snapshot pages with cursors, document_deltas), with a hook that may
rewrite any answer: the fuzzing tests use it to send malformed bodies, wrong fields, cursors
that do not advance, huge pages. It also stops a runaway client (one that keeps asking for
pages forever) with a non-retryable error and records that it had to.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    @property
    def route(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Response:
    status: int = 200
    body: bytes = b"null"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    reset: bool = False  # close the connection without an answer


Handler = Callable[[Request], Response]


class _QuietServer(ThreadingHTTPServer):
    """Failed TLS handshakes and dropped clients are expected here; do not print them."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode())


class FakeConvex:
    """Serves `handler` until stopped; records every request (the Authorization header too:
    tests assert where keys went, then drop the records)."""

    def __init__(self, handler: Handler, tls: Optional[ssl.SSLContext] = None) -> None:
        self.handler = handler
        self.scheme = "https" if tls is not None else "http"
        self.requests: list[Request] = []
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, split.path, dict(parse_qsl(split.query, keep_blank_values=True)),
                                  body, {k: v for k, v in self.headers.items()})
                fake.requests.append(request)
                try:
                    response = fake.handler(request)
                except Exception as err:  # a bug in a test's handler must show, not hang the client
                    response = Response(599, f"fake handler failed: {type(err).__name__}: {err}".encode(),
                                        {"Content-Type": "text/plain"})
                if response.reset:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # the base class names it so
                pass

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def __enter__(self) -> "FakeConvex":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- a scripted streaming export ----------------------------------------------------------------

TABLE = "items"
SNAPSHOT_TS = 1_800_000_000_000_000_000
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "_creationTime": {"type": "number"},
        "_id": {"type": "string", "$description": f"Id({TABLE})"},
        "n": {"type": "integer"},
        "name": {"type": "string"},
        "_table": {"type": "string"}, "_component": {"type": "string"},
        "_ts": {"type": "integer"}, "_deleted": {"type": "boolean"},
    },
    "additionalProperties": False,
    "required": ["_creationTime", "_id", "n", "name"],
}


def document(n: int) -> dict[str, Any]:
    """The n-th document of the scripted table, as export_json serves it."""
    ts = SNAPSHOT_TS - 10_000 + n
    return {"_component": "", "_table": TABLE, "_ts": ts, "_creationTime": ts / 1e6,
            "_id": f"k{n:031d}", "n": n, "name": f"item {n}"}


#: Rewrites one answer: (route, index of this request to the route, the normal answer) -> answer.
Rewrite = Callable[[str, int, Response], Response]


class ScriptedExport:
    """One table of `documents` in pages of `page_size`; `rewrite` may change any answer."""

    def __init__(self, documents: int, page_size: int, rewrite: Optional[Rewrite] = None,
                 runaway_after: int = 200) -> None:
        self.documents = [document(n) for n in range(documents)]
        self.page_size = page_size
        self.rewrite = rewrite
        self.calls: dict[str, int] = {}
        self.runaway_after = runaway_after
        self.runaway = False

    def __call__(self, request: Request) -> Response:
        route = request.route
        index = self.calls.get(route, 0)
        self.calls[route] = index + 1
        if index >= self.runaway_after:
            self.runaway = True
            return json_response({"code": "RunawayClient", "message": "the test stopped a client that kept asking"},
                                 400)
        answer = self._answer(route, request)
        return self.rewrite(route, index, answer) if self.rewrite is not None else answer

    def _answer(self, route: str, request: Request) -> Response:
        if route == "test_streaming_export_connection":
            return json_response(None)
        if route == "json_schemas":
            return json_response({"": {TABLE: SCHEMA}})
        if route == "list_snapshot":
            cursor = request.query.get("cursor")
            if cursor is not None and not cursor.isdigit():
                return json_response({"code": "InvalidListSnapshotCursor", "message": f"Invalid cursor {cursor!r}"},
                                     400)
            start = int(cursor or 0)
            page = self.documents[start:start + self.page_size]
            end = start + len(page)
            more = end < len(self.documents)
            return json_response({"values": page, "snapshot": SNAPSHOT_TS, "cursor": str(end) if more else None,
                                  "hasMore": more})
        if route == "document_deltas":
            raw = request.query.get("cursor", "")
            if not raw.lstrip("-").isdigit():
                return json_response({"code": "DocumentDeltasCursorRequired", "message": "cursor is required"}, 400)
            cursor = int(raw)
            return json_response({"values": [], "cursor": max(cursor, SNAPSHOT_TS) + 1, "hasMore": False})
        return json_response({"code": "NotFound", "message": f"No route for {request.path}"}, 404)

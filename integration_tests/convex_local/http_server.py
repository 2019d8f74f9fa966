"""The HTTP front: routing, the backend's order of checks, faults, latency and the request log.

Order of checks on an API request: Convex-Client header, route and method, auth, streaming export
switch (export routes), permission, body (content type, size, JSON), then the route itself.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, urlsplit

from . import data_sync, export, functions, importer
from .args import Args
from .auth import IMPORT, VIEW_DATA
from .errors import ApiError, internal_error
from .request_log import RequestLogEntry

if TYPE_CHECKING:
    from .deployment import LocalDeployment

log = logging.getLogger("convex_local")

MiB = 1 << 20
DEFAULT_BODY_LIMIT = 2 * MiB  # axum's default body limit, which the other JSON routes keep
IMPORT_BODY_LIMIT = 20 * MiB
_READ_CAP = 64 * MiB  # beyond this we stop buffering and close the connection
VERSION = "1.0.0"


def _proxy_page(status_line: str) -> bytes:
    """The non-JSON page a proxy in front of a cloud deployment answers with."""
    return (
        f"<html>\r\n<head><title>{status_line}</title></head>\r\n<body>\r\n<center><h1>{status_line}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode("ascii")


HTML_PAGES = {"html502": (502, _proxy_page("502 Bad Gateway")), "html504": (504, _proxy_page("504 Gateway Time-out"))}
_NOT_ENABLED = ApiError(
    403,
    "StreamingExportNotEnabled",
    "Streaming export is not available on your current subscription. See https://www.convex.dev/plans to upgrade.",
)

Response = tuple[int, dict[str, str], bytes]


class Route:
    def __init__(
        self,
        methods: set[str],
        run: Callable[["LocalDeployment", Args], Any],
        export_route: bool,
        permission: str,
        body_limit: int = DEFAULT_BODY_LIMIT,
        json_body: bool = False,
    ) -> None:
        self.methods = methods
        self.run = run
        self.export_route = export_route
        self.permission = permission
        self.body_limit = body_limit
        self.json_body = json_body  # the route always reads a JSON body (import routes)


def _text(fn: Callable[[Any, Any, Args], str]) -> Callable[["LocalDeployment", Args], Any]:
    return lambda dep, args: fn(dep.db, dep.settings, args)


def _empty(fn: Callable[[Any, Any, dict], Any]) -> Callable[["LocalDeployment", Args], Any]:
    def run(dep: "LocalDeployment", args: Args) -> bytes:
        fn(dep.db, dep.settings, args.values)
        return b""

    return run


def _ready(dep: "LocalDeployment", args: Args) -> str:
    ready = importer.primary_key_indexes_ready(dep.db, dep.settings, args.values)
    return json.dumps({"indexesReady": ready})


def _replace_tables(dep: "LocalDeployment", args: Args) -> Any:
    raise ApiError(400, "OverwriteNotSupported", "Overwrite sync mode is not supported. Please use a different sync mode.")


def _import_records(dep: "LocalDeployment", args: Args) -> bytes:
    def partial_fault() -> importer.PartialCommitFault | None:
        rule = dep.faults.pick("import_airbyte_records", "partial")
        if rule is not None and rule.kind == "slow":
            time.sleep(rule.slow_s)  # a slow commit: the request goes on
            return None
        return None if rule is None else importer.PartialCommitFault(rule.kind, rule.retry_after_s)

    importer.import_airbyte_records(dep.db, dep.settings, args.values, partial_fault)
    return b""


ROUTES: dict[str, Route] = {
    "/api/test_streaming_export_connection": Route({"GET"}, lambda dep, args: "null", True, VIEW_DATA),
    "/api/json_schemas": Route({"GET"}, _text(export.json_schemas), True, VIEW_DATA),
    "/api/list_snapshot": Route({"GET", "POST"}, _text(export.list_snapshot), True, VIEW_DATA),
    "/api/document_deltas": Route({"GET", "POST"}, _text(export.document_deltas), True, VIEW_DATA),
    "/api/get_table_column_names": Route({"GET"}, _text(export.get_table_column_names), True, VIEW_DATA),
    "/api/v1/data/sync": Route({"POST"}, _text(data_sync.data_sync), True, VIEW_DATA),
    "/api/v1/data/list_active_syncs": Route({"GET"}, _text(data_sync.list_active_syncs), True, VIEW_DATA),
    "/api/data_sync_cursor_from_deltas": Route(
        {"POST"}, _text(data_sync.data_sync_cursor_from_deltas), True, VIEW_DATA
    ),
    "/api/streaming_import/add_primary_key_indexes": Route(
        {"PUT"}, _empty(importer.add_primary_key_indexes), False, IMPORT, json_body=True
    ),
    "/api/streaming_import/primary_key_indexes_ready": Route({"GET"}, _ready, False, IMPORT, json_body=True),
    "/api/streaming_import/clear_tables": Route({"PUT"}, _empty(importer.clear_tables), False, IMPORT, json_body=True),
    "/api/streaming_import/replace_tables": Route({"POST"}, _replace_tables, False, IMPORT),
    "/api/streaming_import/import_airbyte_records": Route(
        {"POST"}, _import_records, False, IMPORT, body_limit=IMPORT_BODY_LIMIT, json_body=True
    ),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid number {name}")


def _finite_float(text: str) -> float:
    # serde_json refuses a number that overflows a float64 (Python would read it as inf).
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _int_as_float(text: str) -> float:
    # An integer literal is an integer to serde_json, so "-0" is 0 and stores as +0.0 (not -0.0).
    return _finite_float(text) + 0.0


# A \uD800-\uDFFF escape: only then can the parsed text hold a lone surrogate (a cheap pre-check).
#: The routes that answer pages of documents: Settings.page_delay_s applies to them.
_PAGE_ROUTES = frozenset({"/api/list_snapshot", "/api/document_deltas", "/api/v1/data/sync"})

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json_body(body: bytes, content_type: str | None, limit: int, import_numbers: bool) -> Any:
    if content_type is None or content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(400, "BadJsonBody", "Expected request with `Content-Type: application/json`")
    if len(body) > limit:
        raise ApiError(400, "BadJsonBody", "Failed to buffer the request body: length limit exceeded")
    try:
        # Streaming import stores every JSON number as a float64.
        parse_int = _int_as_float if import_numbers else int
        values = json.loads(body, parse_int=parse_int, parse_float=_finite_float, parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(body):
            # Paired surrogates were joined by the parser; a lone one cannot be UTF-8 (serde_json rejects it).
            json.dumps(values, ensure_ascii=False).encode("utf-8")
        return values
    except (ValueError, UnicodeError) as e:
        raise ApiError(400, "BadJsonBody", f"Failed to parse the request body as JSON: {e}") from None


def _summary(route_name: str, values: Any) -> dict[str, Any]:
    """Small, key-free parameters for the request log (documents are never logged)."""
    if not isinstance(values, dict):
        return {}
    if route_name == "import_airbyte_records":
        tables = values.get("tables")
        messages = values.get("messages")
        return {
            "tables": sorted(tables) if isinstance(tables, dict) else None,
            "messages": len(messages) if isinstance(messages, list) else None,
        }
    return {k: v for k, v in values.items() if k != "adminKey"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], deployment: "LocalDeployment") -> None:
        self.deployment = deployment
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-response is routine for a test server (e.g. timeouts).
        log.debug("connection error from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
            self.connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 600  # idle keep-alive connections give up eventually

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # our own log line per request (routes only: query strings may hold a key)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- plumbing -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                total += size
                if total <= _READ_CAP:
                    parts.append(chunk)
        length = int(self.headers.get("Content-Length") or 0)
        if length <= _READ_CAP:
            return self.rfile.read(length)
        remaining = length
        while remaining > 0:
            remaining -= len(self.rfile.read(min(remaining, MiB)) or b"x" * remaining)
        self.close_connection = True
        return b"\0" * (_READ_CAP + 1)

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in headers.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    @staticmethod
    def _fault_response(kind: str, retry_after_s: float) -> Response:
        if kind == "408":
            return 408, {}, b""  # the HTTP layer's timeout (TimeoutLayer): no body at all
        if kind == "500":
            return 500, {"Content-Type": "application/json"}, internal_error().body()
        if kind == "503":
            err = ApiError(503, "ServiceUnavailable", "The deployment is temporarily unavailable. Try again later.")
            return 503, {"Content-Type": "application/json"}, err.body()
        if kind == "429":
            err = ApiError(429, "TooManyRequests", "Too many requests. Try again later.")
            headers = {"Content-Type": "application/json", "Retry-After": str(math.ceil(retry_after_s))}
            return 429, headers, err.body()
        status, page = HTML_PAGES[kind]
        return status, {"Content-Type": "text/html"}, page

    # -- one request ----------------------------------------------------------------------------
    def _handle(self) -> None:
        dep = self.server.deployment
        started = time.time_ns()
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = self._read_body()
        if path.startswith("/_local/"):
            status, headers, payload = dep.control.handle(self.command, path, query, body, self.headers)
            self._send(status, headers, payload)
            return
        name = path.rstrip("/").rsplit("/", 1)[-1]
        client = self.headers.get("Convex-Client")
        params: dict[str, Any] = _summary(name, query)

        def record(status: int, nbytes_out: int, fault_kind: str | None) -> None:
            # Logged before the response goes out, so a test that got its answer sees the entry.
            dep.request_log.append(
                RequestLogEntry(self.command, path, params, status, len(body), nbytes_out, started, client, fault_kind)
            )
            log.info("%s %s -> %s (%d bytes)%s", self.command, path, status or "reset", nbytes_out,
                     f" [fault {fault_kind}]" if fault_kind else "")

        if dep.settings.latency_s > 0:
            time.sleep(dep.settings.latency_s)
        if dep.settings.page_delay_s > 0 and path in _PAGE_ROUTES:
            time.sleep(dep.settings.page_delay_s)
        fault = dep.faults.pick(name, "before")
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.slow_s)
            fault = None
        if fault is not None:
            if fault.kind == "reset":
                record(0, 0, fault.kind)
                self._reset()
                return
            status, headers, payload = self._fault_response(fault.kind, fault.retry_after_s)
            record(status, len(payload), fault.kind)
            self._send(status, headers, payload)
            return
        self.partial_fault: str | None = None
        status, headers, payload, params = self._respond(path, query, body, name, params)
        if status == 0:
            record(0, 0, self.partial_fault)
            self._reset()
            return
        after = dep.faults.pick(name, "after")
        fault_kind = self.partial_fault
        if after is not None:
            fault_kind = after.kind
            if after.kind == "slow":
                time.sleep(after.slow_s)
            elif after.kind == "reset":
                record(0, 0, after.kind)
                self._reset()
                return
            else:
                status, headers, payload = self._fault_response(after.kind, after.retry_after_s)
        record(status, len(payload), fault_kind)
        self._send(status, headers, payload)

    def _respond(
        self, path: str, query: dict[str, str], body: bytes, name: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes, dict[str, Any]]:
        dep = self.server.deployment
        try:
            if path == "/version" and self.command == "GET":
                return 200, {"Content-Type": "text/plain; charset=utf-8"}, VERSION.encode(), params
            client = self.headers.get("Convex-Client")
            if client is not None and "-" not in client:
                raise ApiError(400, "InvalidClientVersion", f"Invalid Convex-Client header: {client[:100]}")
            if functions.serves(path):
                return functions.respond(dep, self.command, path, self.headers, query, body) + (params,)
            route = ROUTES.get(path)
            if path in data_sync.ROUTES and not dep.settings.data_sync_api:
                route = None  # a backend from before the data sync API
            if route is None:
                raise ApiError(404, "NotFound", f"No route for {path}")
            if self.command not in route.methods:
                raise ApiError(405, "MethodNotAllowed", f"{self.command} is not allowed on {path}")
            # The key first, then the plan, then the permission (the contract's Corrections).
            identity = dep.keys.identify(self.headers.get("Authorization"), query.get("adminKey"))
            if route.export_route and not dep.settings.streaming_export_enabled:
                raise _NOT_ENABLED
            identity.require(route.permission)
            if route.json_body or (route.export_route and self.command == "POST"):
                values = parse_json_body(
                    body, self.headers.get("Content-Type"), route.body_limit, name == "import_airbyte_records"
                )
                if not isinstance(values, dict):
                    raise ApiError(400, "BadJsonBody", "Failed to deserialize the JSON body into the target type: expected a struct")
                params = _summary(name, values)
                args = Args(values, from_query=False, client=client)
            else:
                args = Args({k: v for k, v in query.items() if k != "adminKey"}, from_query=True, client=client)
            result = route.run(dep, args)
            if isinstance(result, bytes):
                return 200, {}, result, params
            return 200, {"Content-Type": "application/json"}, result.encode("utf-8"), params
        except ApiError as e:
            headers = {"Content-Type": "application/json", **e.headers}
            return e.status, headers, e.body(), params
        except importer.PartialCommitFault as fault:
            self.partial_fault = fault.kind
            if fault.kind == "reset":
                return 0, {}, b"", params
            status, headers, payload = self._fault_response(fault.kind, fault.retry_after_s)
            return status, headers, payload, params
        except Exception:
            log.exception("internal error on %s", path)
            return 500, {"Content-Type": "application/json"}, internal_error().body(), params


def make_server(host: str, port: int, deployment: "LocalDeployment") -> _Server:
    return _Server((host, port), deployment)

"""The Functions API: `POST /api/query|mutation|action`, `POST /api/run/{module/fn}`, HTTP actions.

Functions are Python callables registered on the deployment (`dep.functions.query(...)`), so
tests and the demo can give a local deployment the functions a real app would deploy. What
goes over the wire follows the backend (crates/local_backend/src/public_api.rs):
- bodies `{"path", "args", "format"}` (`/api/run/...`: `{"args", "format"}`); answers
  `{"status":"success","value":...,"logLines":[...]}` or
  `{"status":"error","errorMessage":...,"errorData":...,"logLines":[...]}` with HTTP 200;
  `logLines` and `errorData` are left out when empty / absent;
- order: auth header parsed, JSON body, function path (400 BadConvexFunctionIdentifier),
  authentication (401), then the function runs, and only then `format` is parsed (400 BadFormat);
- a missing function, or an internal one called without an admin key, is the error body
  "Could not find public function for '<path>'."; the wrong kind is
  "Trying to execute <path> as <Kind>, but it is defined as <Kind>.";
- a mutation is one transaction: any error discards all its writes. Limits per call are the
  backend's knobs: 16,000 writes, 16 MiB written, 16 MiB of arguments (all in `Settings`).
HTTP actions answer under `/http/<path>` (a self-hosted backend serves them there; the cloud
serves the same routes at `https://<name>.convex.site/<path>`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .errors import ApiError
from .values import dumps, parse_format, to_clean, to_encoded, to_export

if TYPE_CHECKING:
    from .database import Transaction
    from .deployment import LocalDeployment

MiB = 1 << 20
#: MAX_BACKEND_PUBLIC_API_REQUEST_SIZE: 16 MiB of arguments plus room for the envelope.
PUBLIC_API_BODY_LIMIT = (16 * MiB) + 2000
HTTP_ACTION_BODY_LIMIT = 20 * MiB
KINDS = ("query", "mutation", "action")
_PATH = re.compile(r"^(?P<module>[A-Za-z0-9_][A-Za-z0-9_./-]*?)(?:\.js)?(?::(?P<name>[A-Za-z_$][A-Za-z0-9_$]*))?$")
_JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]*$")


FUNCTION_ROUTES = ("/api/query", "/api/mutation", "/api/action")


def serves(path: str) -> bool:
    """Whether `path` is a Functions API route or an HTTP action."""
    return path in FUNCTION_ROUTES or path.startswith(("/api/run/", "/http/"))


def respond(dep: "LocalDeployment", method: str, path: str, headers: Any, query: dict[str, str],
            body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Answer one request on those routes (POST only); ApiError for HTTP-level errors."""
    if method != "POST":
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
    if path.startswith("/http/"):
        status, payload = dep.functions.http(method, path[len("/http"):], headers.get("Authorization"), body)
        kind = "application/json" if payload[:1] in (b"{", b"[") else "text/plain; charset=utf-8"
        return status, {"Content-Type": kind}, payload
    payload = dep.functions.call(path, headers.get("Authorization"), query.get("adminKey"),
                                 headers.get("Content-Type"), body)
    return 200, {"Content-Type": "application/json"}, payload


class FunctionError(Exception):
    """What a function throws (`throw new Error(message)`): an error body, no `errorData`."""


class ConvexError(FunctionError):
    """`throw new ConvexError(data)`: the error body carries `errorData`."""

    def __init__(self, data: Any) -> None:
        super().__init__("Uncaught ConvexError: " + (data if isinstance(data, str) else dumps(to_clean(data))))
        self.data = data


@dataclass(frozen=True)
class Caller:
    """Who calls: "admin" / "read_only" (a key), "user" (a Bearer token) or "anonymous"."""

    kind: str
    subject: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind in ("admin", "read_only")


@dataclass(frozen=True)
class RegisteredFunction:
    path: str  # canonical "module:name"
    kind: str  # query | mutation | action
    handler: Callable[["FunctionContext", dict[str, Any]], Any]
    internal: bool = False


class FunctionContext:
    """What a function sees: the caller, a log, and the database (writes only in mutations)."""

    def __init__(self, dep: "LocalDeployment", caller: Caller, tx: "Transaction | None", path: str,
                 authorization: str | None = None) -> None:
        self.dep = dep
        self.authorization = authorization  # the raw header, as an HTTP action's request has it
        self.caller = caller
        self.tx = tx
        self.path = path
        self.log_lines: list[str] = []
        self.writes = 0
        self.bytes_written = 0
        #: Run once a mutation committed (caches of the function library follow the data).
        self.after_commit: list[Callable[[], None]] = []

    def log(self, text: str) -> None:
        """`console.log(text)` (the backend's pretty form: `[LOG] 'text'`)."""
        self.log_lines.append(f"[LOG] {text!r}")

    # -- reads ---------------------------------------------------------------------------------
    def documents(self, table: str) -> list[dict[str, Any]]:
        """Every document of a root table in `by_creation_time` order (`_creationTime`, `_id`)."""
        return self.dep.functions.creation_order(table, self.tx)

    def paginate(self, table: str, opts: Any) -> dict[str, Any]:
        """`ctx.db.query(table).paginate(opts)`: see `creation_order_page`."""
        return self.dep.functions.creation_order_page(table, opts, self.tx)

    # -- writes (mutations) ----------------------------------------------------------------------
    def _writable(self) -> "Transaction":
        if self.tx is None:
            raise FunctionError("Uncaught Error: This query or action cannot write to the database.")
        return self.tx

    def _count(self, nbytes: int) -> None:
        settings = self.dep.settings
        self.writes += 1
        self.bytes_written += nbytes
        limit = settings.function_max_writes
        if self.writes > limit:
            raise FunctionError(f"Uncaught Error: Too many writes in a single function execution (limit: {limit})")
        byte_limit = settings.function_max_write_bytes
        if self.bytes_written > byte_limit:
            raise FunctionError("Uncaught Error: Too many bytes written in a single function execution "
                                f"(limit: {byte_limit / MiB:g} MiB)")

    def insert(self, table: str, fields: dict[str, Any]) -> str:
        tx = self._writable()
        self._count(len(dumps(to_clean(fields))))
        return _as_function_error(lambda: tx.insert(table, fields))

    def replace(self, doc_id: str, fields: dict[str, Any]) -> None:
        tx = self._writable()
        self._count(len(dumps(to_clean(fields))))
        _as_function_error(lambda: tx.replace(doc_id, fields))

    def delete(self, doc_id: str) -> None:
        tx = self._writable()
        self._count(64)
        _as_function_error(lambda: tx.delete(doc_id))


def _as_function_error(step: Callable[[], Any]) -> Any:
    """A database refusal inside a function is thrown into the function's code (an Uncaught Error)."""
    try:
        return step()
    except ApiError as err:
        raise FunctionError(f"Uncaught Error: {err.message}") from None


@dataclass
class _OrderCache:
    as_of: int  # the table's last commit ts when built
    order: list[tuple[float, str]] = field(default_factory=list)


class FunctionRegistry:
    """The functions and HTTP actions of one deployment, and the user tokens it accepts."""

    def __init__(self, dep: "LocalDeployment") -> None:
        self._dep = dep
        self._functions: dict[str, RegisteredFunction] = {}
        self._http: dict[tuple[str, str], Callable[[FunctionContext, Any], tuple[int, Any]]] = {}
        self._tokens: dict[str, str] = {}
        self._orders: dict[str, _OrderCache] = {}
        self._lock = threading.Lock()

    # -- registration ---------------------------------------------------------------------------
    def register(self, path: str, kind: str, handler: Callable[[FunctionContext, dict[str, Any]], Any],
                 internal: bool = False) -> None:
        """Deploy one function (`kind`: query, mutation or action) at `path` ("module:name")."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        canonical = canonical_path(path)
        self._functions[canonical] = RegisteredFunction(canonical, kind, handler, internal)

    def query(self, path: str, handler: Callable[[FunctionContext, dict[str, Any]], Any], internal: bool = False) -> None:
        self.register(path, "query", handler, internal)

    def mutation(self, path: str, handler: Callable[[FunctionContext, dict[str, Any]], Any],
                 internal: bool = False) -> None:
        self.register(path, "mutation", handler, internal)

    def http_action(self, method: str, route: str, handler: Callable[[FunctionContext, Any], tuple[int, Any]]) -> None:
        """Serve `handler(ctx, parsed JSON body) -> (status, JSON value)` at `/http<route>`."""
        self._http[(method.upper(), "/" + route.strip("/"))] = handler

    def add_user_token(self, subject: str) -> str:
        """A new end-user token (JWT-shaped) that authenticates as `subject`."""
        token = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(16)
        self._tokens[token] = subject
        return token

    def revoke_user_token(self, token: str) -> None:
        self._tokens.pop(token, None)

    # -- the routes -----------------------------------------------------------------------------
    def call(self, route: str, authorization: str | None, admin_key_param: str | None, content_type: str | None,
             body: bytes) -> bytes:
        """Answer one Functions API request (raises ApiError for the HTTP-level errors)."""
        from .http_server import parse_json_body

        # Extractors run in the handler's order: the auth header, then the JSON body.
        token = self._token(authorization, admin_key_param)
        values = parse_json_body(body, content_type, PUBLIC_API_BODY_LIMIT, import_numbers=False)
        if not isinstance(values, dict):
            raise _deserialize("expected a struct")
        if route.startswith("/api/run/"):
            path = _run_path(route[len("/api/run/"):])
            expected = None
        else:
            if "path" not in values:
                raise _deserialize("missing field `path`")
            if not isinstance(values["path"], str):
                raise _deserialize("path: expected a string")
            path = canonical_path(values["path"])
            expected = route.rsplit("/", 1)[-1]
        if "args" not in values:
            raise _deserialize("missing field `args`")
        caller = self._authenticate(token)
        log_lines: list[str] = []
        try:
            value = self._run(path, expected, values["args"], caller, log_lines)
            result: dict[str, Any] = {"status": "success", "value": None}
            error_data = None
        except FunctionError as err:
            value, result = None, {"status": "error", "errorMessage": f"[Request ID: {_request_id()}] Server Error\n{err}"}
            error_data = err.data if isinstance(err, ConvexError) else None
        # Parsed only after the function ran, as the backend does: a bad format still ran it.
        fmt = parse_format(values.get("format"))
        render = {"clean": to_clean, "encoded": to_encoded, "export": to_export}[fmt]
        if result["status"] == "success":
            result["value"] = render(value)
        elif error_data is not None:
            result["errorData"] = render(error_data)
        if log_lines:
            result["logLines"] = log_lines
        return dumps(result).encode("utf-8")

    def http(self, method: str, route: str, authorization: str | None, body: bytes) -> tuple[int, bytes]:
        """Answer `/http/<route>` as an HTTP action would."""
        handler = self._http.get((method.upper(), "/" + route.strip("/")))
        if handler is None:
            return 404, b"No matching routes found"
        try:
            # `await request.json()` in JS: every number is a float64.
            parsed = _decode_args(json.loads(body)) if body else None
        except ValueError:
            return 400, b"Body is not JSON"
        subject = self._tokens.get(authorization[7:].strip()) if authorization and authorization[:7].lower() == "bearer " else None
        ctx_caller = Caller("user", subject) if subject else Caller("anonymous")
        db = self._dep.db
        tx = db.begin()
        ctx = FunctionContext(self._dep, ctx_caller, tx, f"http:{route}", authorization)
        try:
            status, value = handler(ctx, parsed)
        except FunctionError as err:
            db.abort(tx)
            # Convex's answer for an uncaught error in an HTTP action (redaction.rs, to_http_response_parts).
            payload: dict[str, Any] = {"code": f"[Request ID: {_request_id()}] Server Error: {err}", "trace": str(err)}
            if isinstance(err, ConvexError):
                payload["data"] = to_clean(err.data)
            return 500, dumps(payload).encode("utf-8")
        except BaseException:
            db.abort(tx)
            raise
        db.commit(tx)
        for step in ctx.after_commit:
            step()
        return status, dumps(to_clean(value)).encode("utf-8")

    # -- internals ------------------------------------------------------------------------------
    def _token(self, authorization: str | None, admin_key_param: str | None) -> tuple[str, str] | None:
        if authorization is not None:
            if len(authorization) < 7:
                raise ApiError(400, "InvalidHeaderFailure", "Invalid authentication header")
            if authorization[:7].lower() == "convex ":
                return "key", authorization[7:]
            if authorization[:7].lower() != "bearer " or len(authorization) <= 7:
                raise ApiError(400, "InvalidAdminKey", "Invalid admin key")
            return "user", authorization[7:].strip()
        if admin_key_param is not None:
            return "key", admin_key_param
        return None

    def _authenticate(self, token: tuple[str, str] | None) -> Caller:
        if token is None:
            return Caller("anonymous")
        kind, value = token
        if kind == "key":
            key, acting_as = _split_acting_as(value)
            identity = self._dep.keys.identify("Convex " + key, None)  # 401 BadAdminKey when wrong
            return Caller(identity.kind, acting_as)
        subject = self._tokens.get(value)
        if subject is not None:
            return Caller("user", subject)
        if not _JWT.match(value):
            raise ApiError(401, "InvalidAuthHeader",
                           "Could not parse as OIDC ID token. Token might not be an OIDC-compliant JWT.")
        raise ApiError(401, "Unauthenticated", "Could not verify OIDC token claim. Check that the token signature "
                                               "is valid and the token hasn't expired.")

    def _run(self, path: str, expected: str | None, raw_args: Any, caller: Caller, log_lines: list[str]) -> Any:
        function = self._functions.get(path)
        if function is None or (function.internal and not caller.is_admin):
            raise FunctionError(f"Could not find public function for '{path}'.")
        if expected is not None and function.kind != expected:
            raise FunctionError(f"Trying to execute {path} as {expected.capitalize()}, but it is defined "
                                f"as {function.kind.capitalize()}.")
        if not isinstance(raw_args, dict):
            raise FunctionError(f"ArgumentValidationError: Arguments for {path} must be an object.")
        args_size = len(dumps(raw_args))
        limit = self._dep.settings.function_max_args_bytes
        if args_size > limit:
            raise FunctionError(f"Arguments for {path} are too large (actual: {args_size / MiB:.2f} MiB, "
                                f"limit: {limit / MiB:g} MiB)")
        args = _decode_args(raw_args)
        if function.kind == "mutation":
            db = self._dep.db
            tx = db.begin()
            ctx = FunctionContext(self._dep, caller, tx, path)
            try:
                value = function.handler(ctx, args)
            except BaseException:
                db.abort(tx)  # a failed mutation commits nothing
                log_lines.extend(ctx.log_lines)
                raise
            db.commit(tx)
            for step in ctx.after_commit:
                step()
        else:
            ctx = FunctionContext(self._dep, caller, None, path)
            with self._dep.db.lock:
                try:
                    value = function.handler(ctx, args)
                finally:
                    log_lines.extend(ctx.log_lines)
            return value
        log_lines.extend(ctx.log_lines)
        return value

    def creation_order(self, table: str, tx: "Transaction | None" = None) -> list[dict[str, Any]]:
        """Every document of a root table, ordered by (`_creationTime`, `_id`)."""
        with self._dep.db.lock:
            return [doc for _, doc in self._ordered(table, tx)]

    def creation_order_page(self, table: str, opts: Any, tx: "Transaction | None" = None,
                            where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """One page of Convex's pagination protocol over `by_creation_time`.

        The cursor is opaque (here: the position after the last document, or "end"). As on the
        backend (isolate async_syscall.rs query_page), `isDone` is true exactly when the page ran
        to the end of the table, and then `continueCursor` is the END cursor: a query resumed
        from it returns nothing, even after new documents arrive.
        """
        if not isinstance(opts, dict) or not isinstance(opts.get("numItems"), (int, float)):
            raise FunctionError("Uncaught Error: paginationOpts must be {numItems: number, cursor: string | null}")
        num_items = int(opts["numItems"])
        if num_items <= 0:
            raise FunctionError("Uncaught Error: Must request at least 1 document while paginating")
        if num_items > 32_000:
            raise FunctionError(f"Uncaught Error: Requested too many items: {num_items}")
        cursor = opts.get("cursor")
        with self._dep.db.lock:
            ordered = self._ordered(table, tx)
            if where is not None:
                ordered = [entry for entry in ordered if where(entry[1])]
            if cursor == _END_CURSOR:
                return {"page": [], "isDone": True, "continueCursor": _END_CURSOR, "splitCursor": None,
                        "pageStatus": None}
            start = 0
            if cursor is not None:
                after = _decode_cursor(cursor)
                start = _bisect_after(ordered, after)
            page = ordered[start:start + num_items]
            # A full page that happens to end the table still says isDone=false, as on Convex: the
            # query stopped at numItems before it saw the end.
            done = len(page) < num_items
            continue_cursor = _END_CURSOR if done else _encode_cursor(page[-1][0] if page else after)
            return {"page": [doc for _, doc in page], "isDone": done, "continueCursor": continue_cursor,
                    "splitCursor": None, "pageStatus": None}

    def _ordered(self, table: str, tx: "Transaction | None") -> list[tuple[tuple[float, str], dict[str, Any]]]:
        """Committed documents by (`_creationTime`, `_id`), cached until the table changes."""
        db = self._dep.db
        tablet = db.current_tablet("", table)
        if tablet is None:
            return []
        as_of = db.store.tablet_last_ts(tablet.tablet)
        cached = self._orders.get(tablet.tablet)
        if cached is None or cached.as_of != as_of:
            docs = db.iter_documents(tablet.tablet, db.read_ts())
            entries = sorted((((d["_creationTime"], d["_id"]), d) for d in docs), key=lambda e: e[0])
            cached = self._orders[tablet.tablet] = _OrderCache(as_of, entries)  # type: ignore[arg-type]
        return cached.order  # type: ignore[return-value]


def _split_acting_as(key: str) -> tuple[str, str | None]:
    """`<key>:<base64 of a user identity JSON>` is an admin acting as that user (local_backend
    authentication.rs, extract_admin_key): the admin key, and the identity's `subject`."""
    from .auth import strip_type_prefix

    head, bar, tail = strip_type_prefix(key.strip()).partition("|")
    secret, colon, acting = tail.partition(":")
    if not colon:
        return key, None
    try:
        identity = json.loads(base64.b64decode(acting, validate=True))
        subject = identity["subject"]
        if not isinstance(subject, str):
            raise ValueError("subject")
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "HeaderParseFailure", "Malformed Authorization header.") from None
    return head + bar + secret, subject


_END_CURSOR = "end"


def _encode_cursor(position: tuple[float, str] | None) -> str:
    if position is None:
        return dumps({"after": None})
    return dumps({"after": [position[0], position[1]]})


def _decode_cursor(cursor: Any) -> tuple[float, str] | None:
    try:
        parsed = json.loads(cursor)
        after = parsed["after"]
        return None if after is None else (float(after[0]), str(after[1]))
    except (TypeError, ValueError, KeyError, IndexError):
        raise FunctionError("Uncaught Error: Failed to parse cursor") from None


def _bisect_after(ordered: list[tuple[tuple[float, str], dict[str, Any]]], after: tuple[float, str] | None) -> int:
    if after is None:
        return 0
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if ordered[mid][0] <= after:
            lo = mid + 1
        else:
            hi = mid
    return lo


def canonical_path(path: str) -> str:
    """`messages:list`, `dir/messages.js:list` -> `dir/messages:list`; no name means `default`."""
    match = _PATH.match(path.strip()) if isinstance(path, str) else None
    if match is None:
        raise ApiError(400, "BadConvexFunctionIdentifier",
                       f"{path} is not a valid path to a Convex function. Invalid function path")
    return f"{match.group('module')}:{match.group('name') or 'default'}"


def _run_path(route_rest: str) -> str:
    parts = [p for p in route_rest.split("/")]
    if len(parts) < 2 or not all(parts):
        raise ApiError(400, "MissingIdentifier", "Path or function name not provided in path, e.g. /api/run/messages/list")
    return canonical_path("/".join(parts[:-1]) + ":" + parts[-1])


def _deserialize(message: str) -> ApiError:
    return ApiError(400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: {message}")


def _decode_args(value: Any) -> Any:
    """JSON arguments as Convex values: numbers are float64, `{"$integer": ...}` etc. decode (as the
    control routes read values)."""
    from .control import decode_value

    return decode_value(value)


def _request_id() -> str:
    return secrets.token_hex(8)

"""FunctionsClient: Convex's public Functions API, which every Convex plan serves.

Routes (crates/local_backend/src/public_api.rs): `POST /api/query`, `/api/mutation`,
`/api/action` with `{"path", "args", "format"}`. Whatever the function did, the answer is a
UdfResponse: `{"status":"success","value",...}` or `{"status":"error","errorMessage",
"errorData"?, "logLines"?}`; the open-source backend sends it with HTTP 200, Convex cloud marks a
failed function with HTTP 560 (npm convex browser/http_client.ts STATUS_CODE_UDF_FAILED), so
both are read as a function's answer. Other statuses are the deployment's own errors (bad key,
bad path) and go through the shared error table.

A function's failure becomes a `ConvexFunctionError` whose `failure` says what the caller should
do (see FAILURES): a thrown `ConvexError` (errorData present), a missing function, the wrong
kind or rejected arguments are the user's to fix; a transaction limit (too many writes, reads,
bytes, too-large arguments, time) means "send less per call"; anything else is retried with
backoff, which is safe: a failed query or mutation committed nothing.

Auth: `Authorization: Convex <deploy or admin key>` (may call internal functions), or
`Authorization: Bearer <user token>` (public functions, as that user). An HTTP action
(`https://<name>.convex.site/<path>`) gets `Bearer <access_key>`: the shared secret it checks.
"""

from __future__ import annotations

import enum
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import requests

from .config import ConnectionSettings, normalize_access_key
from .errors import CONFIG, SYSTEM, TRANSIENT, ConvexBadResponseError, ConvexConfigError, ConvexError, FailureType
from .secret import Secret
from .transport import Transport

#: Convex cloud's HTTP status for "the function failed" (the body is a UdfResponse).
UDF_FAILED_STATUS: Final = 560


class AuthScheme(enum.Enum):
    DEPLOY_KEY = "Convex"
    USER_TOKEN = "Bearer"


@dataclass(frozen=True)
class FunctionAuth:
    """How calls authenticate: a deploy/admin key, or an end user's token."""

    scheme: AuthScheme
    secret: Secret

    @classmethod
    def from_access_key(cls, raw: object) -> FunctionAuth:
        """`Bearer <token>` is a user token; anything else must be a deploy or admin key."""
        text = raw.strip() if isinstance(raw, str) else ""
        if text.lower() == "bearer" or text.lower().startswith("bearer "):
            token = text[6:].strip()
            if not token or any(ch.isspace() for ch in token) or not token.isascii():
                raise ConvexConfigError(
                    "access_key starts with 'Bearer ' but the user token after it is empty or "
                    "malformed. Paste the token your app's auth provider issued (a JWT)."
                )
            return cls(AuthScheme.USER_TOKEN, Secret(token))
        return cls(AuthScheme.DEPLOY_KEY, normalize_access_key(raw))

    @property
    def header(self) -> str:
        return f"{self.scheme.value} {self.secret.reveal()}"


class _HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header at send time; its repr never shows the secret."""

    def __init__(self, value: Callable[[], str]) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value()
        return request

    def __repr__(self) -> str:
        return "HeaderAuth(****)"


class Failure(enum.Enum):
    """What a failed function call asks of the caller."""

    CONVEX_ERROR = "convex_error"  # the function threw ConvexError: its data says why
    NOT_FOUND = "not_found"
    WRONG_KIND = "wrong_kind"
    ARGUMENTS = "arguments"
    UNAUTHORIZED = "unauthorized"  # an HTTP action refused the secret
    LIMIT = "limit"  # a per-call limit: send less per call
    OTHER = "other"  # anything else thrown: retried


@dataclass(frozen=True)
class _FailureInfo:
    failure_type: FailureType
    transient: bool
    advice: str


FAILURES: Final[dict[Failure, _FailureInfo]] = {
    Failure.CONVEX_ERROR: _FailureInfo(
        CONFIG,
        False,
        "The function rejected the call with a ConvexError; its data above says why. Fix the data or the function.",
    ),
    Failure.NOT_FOUND: _FailureInfo(
        CONFIG,
        False,
        "Check the function path (module:function, e.g. messages:list) and that it is deployed. An internal function "
        "can only be called with a deploy or admin key, not with a user token.",
    ),
    Failure.WRONG_KIND: _FailureInfo(
        CONFIG,
        False,
        "The function exists but is of another kind (query, mutation or action): point the connector at one of the "
        "right kind.",
    ),
    Failure.ARGUMENTS: _FailureInfo(
        CONFIG,
        False,
        "The function's argument validator rejected the arguments the connector sends: make its `args` accept them "
        "(see the connector's documentation for the exact shape).",
    ),
    Failure.UNAUTHORIZED: _FailureInfo(
        CONFIG,
        False,
        "The HTTP action refused the request's credentials: access_key must be the secret the action checks.",
    ),
    Failure.LIMIT: _FailureInfo(
        SYSTEM,
        False,
        "The call hit one of Convex's per-call limits (writes, reads, bytes, argument size or execution time): send "
        "fewer or smaller records per call.",
    ),
    Failure.OTHER: _FailureInfo(
        TRANSIENT,
        True,
        "The function failed; the connector retried it. Read the function's logs in the Convex dashboard.",
    ),
}

#: errorMessage fragments, in the backend's words (udf/src/validation.rs, database/src/writes.rs,
#: reads.rs, udf/src/helpers.rs, isolate/src/termination.rs, isolate async_syscall.rs).
_MESSAGE_KINDS: Final = (
    ("Could not find public function for", Failure.NOT_FOUND),
    ("Trying to execute ", Failure.WRONG_KIND),
    ("ArgumentValidationError", Failure.ARGUMENTS),
    ("Too many writes in a single function execution", Failure.LIMIT),
    ("Too many bytes written in a single function execution", Failure.LIMIT),
    ("Too many documents read in a single function execution", Failure.LIMIT),
    ("Too many reads in a single function execution", Failure.LIMIT),
    ("Too many bytes read in a single function execution", Failure.LIMIT),
    ("are too large (actual:", Failure.LIMIT),
    ("Function execution timed out", Failure.LIMIT),
    ("Requested too many items", Failure.LIMIT),
)


def classify_message(message: str) -> Failure:
    for fragment, failure in _MESSAGE_KINDS:
        if fragment in message:
            return failure
    return Failure.OTHER


class ConvexFunctionError(ConvexError):
    """A Convex function ran (or was looked up) and failed; `failure` says what to do."""

    def __init__(
        self,
        function: str,
        failure: Failure,
        error_message: str,
        error_data: Any = None,
        status: int | None = None,
        route: str | None = None,
    ) -> None:
        info = FAILURES[failure]
        data = f" errorData: {orjson.dumps(error_data).decode()[:500]}." if error_data is not None else ""
        first_line = error_message.strip().splitlines()
        said = " | ".join(line.strip() for line in first_line[:3])[:600]
        super().__init__(
            f"The Convex function {function} failed: {said}.{data} {info.advice}",
            status=status,
            failure_type=info.failure_type,
            transient=info.transient,
            route=route,
            reason=f"{function}: {said[:200]}",
        )
        self.function = function
        self.failure = failure
        self.error_message = error_message
        self.error_data = error_data


@dataclass(frozen=True)
class FunctionResult:
    """A successful call: the function's return value and what it logged."""

    value: Any
    log_lines: list[str] = field(default_factory=list)


class _FunctionTransport(Transport):
    """The shared transport, reading a function's answer on 200 and on 560 too."""

    def __init__(
        self,
        settings: ConnectionSettings,
        auth_header: Callable[[], str],
        client_id: str,
        logger: logging.Logger,
        max_connections: int,
        http_action: bool,
    ) -> None:
        super().__init__(settings, client_id, logger, max_connections=max_connections)
        self._session.auth = _HeaderAuth(auth_header)
        self._http_action = http_action

    def _attempt(self, method: str, route: str, parse: Callable[[bytes], Any], params: Any, body: bytes | None) -> Any:
        response = self._send(method, route, params, body)
        status = response.status_code
        if self._http_action:
            return self._http_action_answer(route, status, response)
        if status in (200, UDF_FAILED_STATUS):
            try:
                return parse(response.content)
            except ConvexBadResponseError as err:
                key = self.settings.access_key
                raise ConvexBadResponseError(
                    key.redact(err.explanation), status=status, route=route, reason=key.redact(err.reason)
                ) from None
        if 300 <= status < 400:
            raise self._redirect_error(response, route)
        raise self._status_error(response, route)

    def _http_action_answer(self, route: str, status: int, response: requests.Response) -> Any:
        """An HTTP action answers what its code returns; an uncaught error is Convex's 500
        `{"code": "[Request ID: ...] Server Error: ...", "data"?: ...}` (redaction.rs)."""
        content = response.content
        try:
            value: Any = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            value = None
        redact = self.settings.access_key.redact
        if 200 <= status < 300:
            return value
        if status == 500 and isinstance(value, dict) and str(value.get("code", "")).startswith("[Request ID"):
            message = redact(str(value.get("trace") or value["code"]))
            failure = Failure.CONVEX_ERROR if "data" in value else classify_message(message)
            raise ConvexFunctionError(
                f"HTTP action {route}", failure, message, value.get("data"), status=status, route=route
            )
        if status in (401, 403):
            raise ConvexFunctionError(
                f"HTTP action {route}", Failure.UNAUTHORIZED, f"HTTP {status}", status=status, route=route
            )
        if 400 <= status < 500 and status not in (404, 408, 429):
            text = redact(content[:300].decode("utf-8", "replace"))
            raise ConvexFunctionError(
                f"HTTP action {route}", Failure.CONVEX_ERROR, f"HTTP {status}: {text}", status=status, route=route
            )
        if 300 <= status < 400:
            raise self._redirect_error(response, route)
        raise self._status_error(response, route)


def _parser(function: str, logger: logging.Logger, redact: Callable[[str], str]) -> Callable[[bytes], FunctionResult]:
    def parse(body: bytes) -> FunctionResult:
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ConvexBadResponseError(
                f"The answer to the call of {function} is not JSON; deployment_url may not "
                "point at a Convex deployment."
            ) from None
        if not isinstance(answer, dict) or answer.get("status") not in ("success", "error"):
            raise ConvexBadResponseError(
                f"The answer to the call of {function} is not a Convex function result (no status)."
            )
        lines = answer.get("logLines")
        log_lines = [redact(str(line)) for line in lines] if isinstance(lines, list) else []
        for line in log_lines:
            logger.info("Convex function %s logged: %s", function, line)
        if answer["status"] == "success":
            return FunctionResult(answer.get("value"), log_lines)
        message = redact(str(answer.get("errorMessage", "")))
        data = answer.get("errorData")
        failure = Failure.CONVEX_ERROR if "errorData" in answer else classify_message(message)
        raise ConvexFunctionError(function, failure, message, data)

    return parse


def _body(path: str, args_json: bytes) -> bytes:
    return b'{"path":' + orjson.dumps(path) + b',"format":"json","args":' + args_json + b"}"


class FunctionsClient:
    """Calls one deployment's functions (or one HTTP action) over one pooled session."""

    def __init__(
        self,
        settings: ConnectionSettings,
        auth: FunctionAuth,
        client_id: str,
        logger: logging.Logger | None = None,
        max_connections: int = 4,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self._logger = logger or logging.getLogger("convex_shared")
        # The transport redacts with settings.access_key: make it the secret actually sent.
        self._transport = _FunctionTransport(
            _with_key(settings, auth.secret),
            lambda: auth.header,
            client_id,
            self._logger,
            max_connections,
            http_action=False,
        )

    @property
    def request_count(self) -> int:
        return self._transport.request_count

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> FunctionsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FunctionsClient({self.settings.deployment_url!r})"

    def query(self, path: str, args: dict[str, Any]) -> FunctionResult:
        return self.call("query", path, orjson.dumps(args))

    def mutation(self, path: str, args_json: bytes) -> FunctionResult:
        """`args_json`: the arguments already serialized (batches are sized by their bytes)."""
        return self.call("mutation", path, args_json)

    def call(self, kind: str, path: str, args_json: bytes) -> FunctionResult:
        """One call of a query, mutation or action; retries what `FAILURES` marks transient."""
        parse = _parser(path, self._logger, self._transport.settings.access_key.redact)
        result: FunctionResult = self._transport.call("POST", f"/api/{kind}", parse, body=_body(path, args_json))
        return result


class HttpActionClient:
    """Posts JSON bodies to one HTTP action URL (`https://<name>.convex.site/<path>`)."""

    def __init__(
        self,
        url: str,
        secret: Secret,
        client_id: str,
        logger: logging.Logger | None = None,
        retry: Any = None,
        max_connections: int = 4,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 120.0,
    ) -> None:
        origin, self.route = split_action_url(url)
        settings = ConnectionSettings(
            origin, secret, connect_timeout_s, read_timeout_s, **({"retry": retry} if retry is not None else {})
        )
        self.url = origin + self.route
        self._transport = _FunctionTransport(
            settings,
            lambda: f"Bearer {secret.reveal()}",
            client_id,
            logger or logging.getLogger("convex_shared"),
            max_connections,
            http_action=True,
        )

    @property
    def request_count(self) -> int:
        return self._transport.request_count

    def close(self) -> None:
        self._transport.close()

    def post(self, body: bytes) -> Any:
        """The action's JSON answer (None when it is not JSON); ConvexFunctionError on failure."""
        return self._transport.call("POST", self.route, lambda content: content, body=body)


def _with_key(settings: ConnectionSettings, secret: Secret) -> ConnectionSettings:
    return ConnectionSettings(
        settings.deployment_url, secret, settings.connect_timeout_s, settings.read_timeout_s, settings.retry
    )


def split_action_url(url: object) -> tuple[str, str]:
    """(`scheme://host[:port]`, `/path`) of an HTTP action URL; ConvexConfigError when unusable."""
    if not isinstance(url, str) or not url.strip():
        raise ConvexConfigError(
            "http_action_url must be the URL of an HTTP action, e.g. "
            "https://happy-animal-123.convex.site/airbyte/ingest."
        )
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConvexConfigError(
            f"http_action_url {url.strip()!r} must start with https:// (or http:// for a "
            "self-hosted deployment) and name a host."
        )
    if parts.hostname.endswith(".convex.cloud"):
        name = parts.hostname[: -len(".convex.cloud")]
        raise ConvexConfigError(
            f"http_action_url points at {parts.hostname}, the deployment API; HTTP actions are "
            f"served at https://{name}.convex.site{parts.path or '/'}."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConvexConfigError("http_action_url must not contain a query string, a fragment or credentials.")
    path = parts.path or "/"
    return f"{parts.scheme}://{parts.netloc}", path

"""One pooled HTTP session to one deployment: headers, timeouts, retries, error mapping.

Every lower-layer failure (requests, urllib3, socket, ssl) becomes one of our ConvexErrors,
raised `from None` so no request object (which holds the Authorization header) travels on.
Redirects are never followed: a redirect to another host would carry the key there.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
import requests
import requests.adapters

from .config import ConnectionSettings
from .errors import (
    REPORT_BUG,
    ConvexBadResponseError,
    ConvexConfigError,
    ConvexError,
    ConvexRequestError,
    ConvexTransientError,
    error_for_status,
)
from .retry import RetryPolicy, parse_retry_after

T = TypeVar("T")


class _ConvexKeyAuth(requests.auth.AuthBase):
    """Sets `Authorization: Convex <key>` on each request at send time; repr stays masked."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self._key = settings.access_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Convex {self._key.reveal()}"
        return request

    def __repr__(self) -> str:
        return "ConvexKeyAuth(****)"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its args that are exceptions, and its causes: requests nests urllib3's
    and socket's errors in all three ways."""
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack and len(seen) < 20:
        current = stack.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                stack.append(linked)
    return seen


def _is_name_resolution_failure(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, socket.gaierror) or type(link).__name__ == "NameResolutionError":
            return True
    return False


def _is_refused(exc: BaseException) -> bool:
    return any(isinstance(link, ConnectionRefusedError) for link in _chain(exc))


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could reach the server."""
    return any(type(link).__name__ in ("NewConnectionError", "ConnectTimeoutError") for link in _chain(exc))


def _os_reason(exc: BaseException) -> str:
    for link in _chain(exc):
        if isinstance(link, OSError) and link.strerror:
            return link.strerror.lower()
    return "no connection"


def _tls_reason(exc: BaseException) -> str:
    for link in _chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return link.verify_message or "certificate verification failed"
        if isinstance(link, ssl.SSLError) and link.reason:
            return str(link.reason).lower().replace("_", " ")
    return "TLS handshake failed"


class Transport:
    """Sends requests to one deployment and turns every outcome into a value or a ConvexError."""

    def __init__(
        self,
        settings: ConnectionSettings,
        client_id: str,
        logger: logging.Logger,
        rng: random.Random | None = None,
        max_connections: int = 4,
    ) -> None:
        if "-" not in client_id or not client_id.isascii() or not client_id.isprintable():
            raise ValueError("client_id must look like '<client>-<version>', e.g. 'airbyte-export-1.0.0'")
        self.settings = settings
        self.logger = logger
        self.request_count = 0
        self._count_lock = threading.Lock()  # requests go out from several threads (parallel snapshots, writers)
        self._rng = rng or random.Random()
        self._timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        session = requests.Session()
        # Our own retry loop decides; urllib3 must not retry (or follow redirects) behind it.
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max_connections, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.auth = _ConvexKeyAuth(settings)
        session.verify = True
        session.headers.update(
            {
                "Convex-Client": client_id,
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
                "User-Agent": f"{client_id} (python-requests)",
            }
        )
        self._session = session

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def call(
        self,
        method: str,
        route: str,
        parse: Callable[[bytes], T],
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
        retry: RetryPolicy | None = None,
        max_500_attempts: int | None = None,
        repeated_500: str | None = None,
    ) -> T:
        """Send, retry transient failures within the policy (`retry`, else the settings'), and return
        `parse(body)` of the 2xx answer.

        `idempotent=False`: a retry after a failure that may have been committed (no Convex answer: a
        timeout, a dropped connection, a proxy's page) is logged as a duplicate risk.
        `max_500_attempts`: stop after that many 500 answers, raising a request error that explains
        the likely cause (`repeated_500`); for requests whose 500s are usually deterministic."""
        policy = retry or self.settings.retry
        started = time.monotonic()
        attempt = 0
        answered_500 = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, route, parse, params, body)
            except ConvexError as err:
                err.attempts = attempt
                if not err.transient:
                    raise
                answered_500 += err.status == 500
                if max_500_attempts is not None and answered_500 >= max_500_attempts:
                    raise ConvexRequestError(
                        repeated_500 or err.explanation,
                        status=err.status,
                        code=err.code,
                        convex_message=err.convex_message,
                        failure_type="config_error",
                        transient=False,
                        route=route,
                        maybe_committed=err.maybe_committed,
                    ).with_attempts(attempt) from None
                delay = policy.next_delay_s(attempt, time.monotonic() - started, err.retry_after_s, self._rng)
                if delay is None:
                    raise
                # One import request is one Convex transaction (the destination keeps it under 16,000
                # writes), so a retry can repeat a batch only whole, and only when the lost attempt
                # committed; a Convex error answer proves it did not.
                risk = (
                    "; if the failed attempt was committed before its answer was lost, this append batch is "
                    "stored twice"
                    if not idempotent and err.maybe_committed
                    else ""
                )
                self.logger.warning(
                    "Convex %s failed (%s); retry %d of %d in %.2f s%s.",
                    route,
                    err.reason,
                    attempt,
                    policy.max_attempts - 1,
                    delay,
                    risk,
                )
                time.sleep(delay)

    def _attempt(
        self, method: str, route: str, parse: Callable[[bytes], T], params: Mapping[str, str] | None, body: bytes | None
    ) -> T:
        response = self._send(method, route, params, body)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return parse(response.content)
            except ConvexBadResponseError as err:
                # The parser may quote a text body (a proxy's page), which could echo credentials.
                key = self.settings.access_key
                raise ConvexBadResponseError(
                    key.redact(err.explanation),
                    status=status,
                    route=route,
                    reason=key.redact(err.reason),
                ) from None
        if 300 <= status < 400:
            raise self._redirect_error(response, route)
        raise self._status_error(response, route)

    def _send(self, method: str, route: str, params: Mapping[str, str] | None, body: bytes | None) -> requests.Response:
        url = self.settings.deployment_url + route
        headers = {"Content-Type": "application/json"} if body is not None else None
        with self._count_lock:
            self.request_count += 1
        started = time.monotonic()
        try:
            response = self._session.request(
                method, url, params=params, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc, route) from None
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Convex %s %s -> %d, %d bytes in %.0f ms",
                method,
                route,
                response.status_code,
                len(response.content),
                (time.monotonic() - started) * 1000,
            )
        return response

    def _network_error(self, exc: requests.exceptions.RequestException, route: str) -> ConvexError:
        """A ConvexError for a request that got no HTTP answer."""
        host = self.settings.host
        key = self.settings.access_key
        if isinstance(exc, requests.exceptions.SSLError):
            hint = (
                " If this is a self-hosted deployment served over plain HTTP, write http:// in deployment_url."
                if self.settings.deployment_url.startswith("https://")
                else ""
            )
            return ConvexConfigError(
                f"Could not make a secure (TLS) connection to {host}: {key.redact(_tls_reason(exc))}. Check "
                f"deployment_url; a private certificate authority must be in REQUESTS_CA_BUNDLE.{hint}",
                route=route,
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return ConvexTransientError(
                f"Could not connect to {host} within {self.settings.connect_timeout_s:g} s. Check deployment_url and "
                "the network; raise connect_timeout_seconds on a slow network.",
                route=route,
                maybe_committed=False,
                reason="connect timeout",
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            remedy = (
                "A check waits no longer than that: check that deployment_url is the deployment's address (a "
                "host that accepts connections but never answers is not a Convex deployment)."
                if self.settings.for_a_check
                else "The deployment may be overloaded; raise read_timeout_seconds if this keeps happening."
            )
            return ConvexTransientError(
                f"{host} did not answer within {self.settings.read_timeout_s:g} s. {remedy}",
                route=route,
                reason=f"no answer within {self.settings.read_timeout_s:g} s (read timeout)",
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            if _is_name_resolution_failure(exc):
                return ConvexConfigError(
                    f"Could not find the host {host} (DNS lookup failed). Check deployment_url for typos; a Convex "
                    "cloud deployment URL looks like https://happy-animal-123.convex.cloud.",
                    route=route,
                )
            if _is_refused(exc):
                return ConvexTransientError(
                    f"{host} refused the connection. Check deployment_url (host and port) and that the deployment "
                    "is running.",
                    route=route,
                    maybe_committed=False,
                    reason="connection refused",
                )
            if _never_sent(exc):
                cause = _os_reason(exc)
                return ConvexTransientError(
                    f"Could not connect to {host} ({cause}). Check deployment_url and the network.",
                    route=route,
                    maybe_committed=False,
                    reason=f"could not connect: {cause}",
                )
            return ConvexTransientError(
                f"The connection to {host} broke before Convex answered (closed or reset). This is usually temporary.",
                route=route,
                reason="connection closed or reset before an answer",
            )
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return ConvexBadResponseError(
                f"The answer from {host} was cut off or could not be decompressed. This is usually temporary.",
                route=route,
                reason="answer cut off or not decompressible",
            )
        if isinstance(
            exc,
            (
                requests.exceptions.InvalidURL,
                requests.exceptions.InvalidHeader,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
            ),
        ):
            return ConvexConfigError(
                f"Could not send a request to {host}: {key.redact(str(exc))}. Check deployment_url and access_key.",
                route=route,
            )
        return ConvexRequestError(f"The request to {host} failed ({type(exc).__name__}). {REPORT_BUG}", route=route)

    def _redirect_error(self, response: requests.Response, route: str) -> ConvexError:
        location = self.settings.access_key.redact(response.headers.get("Location", "(no Location header)"))
        return ConvexConfigError(
            f"{self.settings.host} answered with a redirect to {location} (HTTP {response.status_code}), which the "
            "connector does not follow so the access key never goes to another address. If that is the "
            "deployment's real address, put it in deployment_url.",
            status=response.status_code,
            route=route,
        )

    def _status_error(self, response: requests.Response, route: str) -> ConvexError:
        code, message, note = _error_body(response.content)
        if response.status_code == 401:
            note = _key_mismatch_note(self.settings) or note
        redact = self.settings.access_key.redact
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        error = error_for_status(
            response.status_code,
            code,
            redact(message) if message else None,
            route=route,
            retry_after_s=retry_after,
            note=redact(note) if note else None,
        )
        # A Convex error body means the deployment itself answered: the request's transaction
        # failed and was rolled back. A bare status or a proxy's page proves nothing.
        error.maybe_committed = code is None
        return error


def _key_mismatch_note(settings: ConnectionSettings) -> str | None:
    """For a refused key: say so when the key visibly names another cloud deployment."""
    hint = settings.access_key.deployment_hint
    host = settings.host
    if hint is None or not host.endswith(".convex.cloud"):
        return None
    name = host.split(".", 1)[0]
    if name == hint:
        return None
    return f"The key was made for deployment '{hint}', but deployment_url points at '{name}'."


def _error_body(content: bytes) -> tuple[str | None, str | None, str | None]:
    """Convex's `(code, message)` from an error body, or a short note about a body that is not Convex's."""
    try:
        value: Any = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("code"), str):
        message = value.get("message")
        return value["code"], message if isinstance(message, str) else None, None
    text = " ".join(content[:300].decode("utf-8", "replace").split())
    if not text:
        return None, None, "(The answer had no body.)"
    return None, None, f"(The answer was not a Convex error: {text[:120]!r}.)"

"""Connection settings: the deployment URL and access key as the user typed them, normalised.

Every mistake a user can paste (a path, an HTTP-actions URL, a `Bearer ` prefix, a dashboard
link) is refused here with a message that says what to change, before any request is sent.
Messages never include the key.

Plain `http://` sends the key unencrypted, so it is accepted only for hosts that cannot be
on the public internet: loopback, private and link-local addresses, and names only a private
network resolves (`localhost`, a single-label Docker or Kubernetes service name such as
`convex-backend`, `*.local`, `*.internal`, `*.lan`, `*.cluster.local`, `host.docker.internal`).
Convex cloud deployments redirect http to https, but only after the first request has carried
the key in clear text, so `http://<name>.convex.cloud` is refused with the https URL to use.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import ConvexConfigError
from .retry import RetryPolicy
from .secret import Secret

DEFAULT_CONNECT_TIMEOUT_S: Final = 10.0
# A list_snapshot page may take up to 60 s of server work; leave room above that.
DEFAULT_READ_TIMEOUT_S: Final = 120.0
#: A check answers someone waiting in the UI, and its routes do no long work: a host that
#: accepts the connection but never answers must fail it in seconds, not in two read timeouts.
CHECK_TIMEOUT_S: Final = 15.0

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ENV_ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")
_JWT = re.compile(r"^eyJ[\w-]*\.[\w-]+\.[\w-]*$")


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to reach one Convex deployment."""

    deployment_url: str
    access_key: Secret
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: True for a check's settings (`for_check`): messages then speak of the check's own limit.
    for_a_check: bool = False

    @property
    def host(self) -> str:
        """`host[:port]` of the deployment, for messages."""
        return urllib.parse.urlsplit(self.deployment_url).netloc

    def for_check(self, retry: RetryPolicy) -> ConnectionSettings:
        """The same deployment with a check's patience: `retry`, and timeouts of at most CHECK_TIMEOUT_S."""
        return dataclasses.replace(
            self,
            retry=retry,
            connect_timeout_s=min(self.connect_timeout_s, CHECK_TIMEOUT_S),
            read_timeout_s=min(self.read_timeout_s, CHECK_TIMEOUT_S),
            for_a_check=True,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], retry: RetryPolicy | None = None) -> ConnectionSettings:
        """Read `deployment_url`, `access_key` and the optional `connect_timeout_seconds` /
        `read_timeout_seconds` from a connector config; raise ConvexConfigError on any mistake."""
        return cls(
            deployment_url=normalize_deployment_url(config.get("deployment_url")),
            access_key=normalize_access_key(config.get("access_key")),
            connect_timeout_s=_timeout(config, "connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT_S),
            read_timeout_s=_timeout(config, "read_timeout_seconds", DEFAULT_READ_TIMEOUT_S),
            retry=retry or RetryPolicy(),
        )


def _bad_url(problem: str) -> ConvexConfigError:
    return ConvexConfigError(
        f"deployment_url {problem} Use the deployment URL from the Convex dashboard (Settings -> URL & Deploy Key), "
        "e.g. https://happy-animal-123.convex.cloud, or http://127.0.0.1:3210 for a self-hosted deployment."
    )


def normalize_deployment_url(raw: object) -> str:
    """`scheme://host[:port]` with no trailing slash; https is assumed when no scheme is given."""
    if raw is None:
        raise _bad_url("is missing.")
    if not isinstance(raw, str):
        raise _bad_url(f"must be a string, not {type(raw).__name__}.")
    text = raw.strip()
    if not text:
        raise _bad_url("is empty.")
    if any(ch.isspace() for ch in text):
        raise _bad_url("contains spaces.")
    if "|" in text:
        # A `|` never appears in a URL but always in a Convex key: the fields were swapped.
        raise _bad_url("looks like an access key (it contains '|'): put the key in access_key instead.")
    if not _SCHEME.match(text):
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise _bad_url(f"is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _bad_url(f"must start with https:// or http://, not {scheme}://.")
    host = (parts.hostname or "").lower()
    if not host:
        raise _bad_url("has no host name.")
    if parts.username is not None or parts.password is not None:
        raise _bad_url("must not contain a user name or password: remove the part before '@'.")
    if host == "dashboard.convex.dev" or host.endswith(".dashboard.convex.dev"):
        raise _bad_url("is the Convex dashboard's address, not the deployment's.")
    if host.endswith(".convex.site"):
        name = host[: -len(".convex.site")]
        raise ConvexConfigError(
            f"deployment_url points at {host}, the HTTP-actions domain (.convex.site), which does not serve the "
            f"deployment API. Use the .convex.cloud deployment URL instead: https://{name}.convex.cloud."
        )
    path = parts.path.rstrip("/")
    if path:
        raise _bad_url(f"must not contain a path: remove '{path}'.")
    if parts.query:
        raise _bad_url(f"must not contain a query string: remove '?{parts.query}'.")
    if parts.fragment:
        raise _bad_url(f"must not contain a fragment: remove '#{parts.fragment}'.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if scheme == "http":
        refuse_plain_http(host, netloc)
    return f"{scheme}://{netloc}"


#: Name suffixes that only a private network resolves (RFC 6762 .local, RFC 8375 home.arpa, ...).
_PRIVATE_SUFFIXES = (
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".localdomain",
    ".localhost",
    ".svc",
    ".cluster.local",
)


def is_private_host(host: str) -> bool:
    """True for a host that plain http can reach without crossing the public internet."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES)
    return address.is_loopback or address.is_private or address.is_link_local


def refuse_plain_http(host: str, netloc: str) -> None:
    """ConvexConfigError unless plain http to `host` keeps the key off the public internet.
    `netloc` (host and port) is what the https URL in the message keeps."""
    if host.endswith(".convex.cloud"):
        raise ConvexConfigError(
            f"deployment_url uses plain http:// for the Convex cloud deployment {host}, which would send the "
            f"access key unencrypted before Convex redirects to https. Use https://{netloc}."
        )
    if not is_private_host(host):
        raise ConvexConfigError(
            f"deployment_url uses plain http:// for {host}, a public host: the access key would cross the "
            f"internet unencrypted. Use https://{netloc} (serve a self-hosted deployment behind TLS); plain http is "
            "accepted only for loopback, private-network addresses and private names (localhost, a Docker or "
            "Kubernetes service name, *.internal, *.local)."
        )


def _bad_key(problem: str) -> ConvexConfigError:
    return ConvexConfigError(
        f"access_key {problem} Paste the deploy key exactly as the Convex dashboard shows it under "
        "Settings -> URL & Deploy Key (it looks like prod:happy-animal-123|...)."
    )


def normalize_access_key(raw: object) -> Secret:
    """The trimmed key as a Secret. Refuses shapes that can never work; the server judges the rest."""
    if isinstance(raw, Secret):
        raw = raw.reveal()
    if raw is None:
        raise _bad_key("is missing.")
    if not isinstance(raw, str):
        raise _bad_key(f"must be a string, not {type(raw).__name__}.")
    key = raw.strip()
    if not key:
        raise _bad_key("is empty.")
    lowered = key.lower()
    if lowered.startswith("convex "):
        raise _bad_key("starts with 'Convex ': remove that prefix, the connector adds it.")
    if lowered.startswith("bearer "):
        raise _bad_key(
            "starts with 'Bearer ': that is a user sign-in token, which cannot export or import. Use a deploy key "
            "or an admin key, without any prefix."
        )
    match = _ENV_ASSIGNMENT.match(key)
    if match:
        raise _bad_key(f"starts with '{match.group(0)}': paste only the value after '='.")
    if key[0] in "\"'" and key[-1] == key[0]:
        raise _bad_key("is wrapped in quotes: remove them.")
    if _SCHEME.match(key):
        raise _bad_key("looks like a URL: put the URL in deployment_url and the key in access_key.")
    if any(ch.isspace() for ch in key):
        raise _bad_key("contains spaces or line breaks inside it.")
    if not key.isascii() or not key.isprintable():
        raise _bad_key("contains characters no Convex key has (non-ASCII or control characters).")
    if "|" not in key and _JWT.match(key):
        raise _bad_key("is a JWT (a user sign-in token), which cannot export or import.")
    return Secret(key)


def _timeout(config: Mapping[str, Any], name: str, default: float) -> float:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConvexConfigError(f"{name} must be a number of seconds, not {value!r}.")
    if not math.isfinite(value) or value <= 0:
        raise ConvexConfigError(f"{name} must be a positive number of seconds, not {value!r}.")
    return float(value)


#: How a config reader reports a mistake (a connector may pass its own ConnectorError subclass).
ConfigProblem = Callable[[str], Exception]


def read_flag(config: Mapping[str, Any], name: str, default: bool, error: ConfigProblem = ConvexConfigError) -> bool:
    """An optional true/false field (absent or null: `default`); anything else is `error`."""
    value = config.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise error(f"Config field '{name}' must be true or false, got {value!r}.")
    return value


def read_number(
    config: Mapping[str, Any],
    name: str,
    default: float,
    low: float,
    high: float,
    *,
    integer: bool = False,
    error: ConfigProblem = ConvexConfigError,
) -> float:
    """An optional number field within [`low`, `high`] (absent or null: `default`)."""
    value = config.get(name)
    if value is None:
        return float(default)
    # bool is an int subclass; `true` for a size is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"Config field '{name}' must be a number, got {type(value).__name__}.")
    if not math.isfinite(value):
        raise error(f"Config field '{name}' must be a finite number, got {value}.")
    if integer and value != int(value):
        raise error(f"Config field '{name}' must be a whole number, got {value}.")
    if not low <= value <= high:
        raise error(f"Config field '{name}' must be between {low:g} and {high:g}, got {value:g}.")
    return float(value)

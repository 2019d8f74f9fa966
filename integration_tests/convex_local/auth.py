"""Admin keys, the read-only key, and the backend's order of auth checks.

Keys look like self-hosted keys: `<instance>|<hex>`. A type prefix (`prod:`, `dev:`,
`preview:team:project:`) before the instance is stripped, as the backend does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import ApiError

INSTANCE_NAME = "convex-self-hosted"
VIEW_DATA = "deployment:data:view"
IMPORT = "deployment:backups:import"

_BAD_ADMIN_KEY = ApiError(401, "BadAdminKey", "The provided admin key was invalid for this instance")
_BAD_DEPLOY_KEY = ApiError(
    403,
    "BadDeployKey",
    "The provided deploy key was invalid for this deployment. Double check that the environment this key was"
    " generated for matches the desired deployment.",
)


def new_key(instance: str = INSTANCE_NAME) -> str:
    return f"{instance}|01{secrets.token_hex(40)}"


def strip_type_prefix(key: str) -> str:
    head, bar, tail = key.partition("|")
    if bar and ":" in head:
        head = head.rsplit(":", 1)[1]
    return head + bar + tail


@dataclass(frozen=True)
class Identity:
    kind: str  # "admin" | "read_only"
    permissions: frozenset[str]

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise ApiError(
                403, "OperationNotPermitted", f"You do not have permission to perform this operation ({permission})."
            )


ADMIN = Identity("admin", frozenset({VIEW_DATA, IMPORT}))
READ_ONLY = Identity("read_only", frozenset({VIEW_DATA}))


class KeyChecker:
    def __init__(self, admin_key: str, read_only_key: str) -> None:
        self._keys = {strip_type_prefix(admin_key): ADMIN, strip_type_prefix(read_only_key): READ_ONLY}

    def identify(self, authorization: str | None, admin_key_param: str | None) -> Identity:
        """The caller's identity from the Authorization header, else `?adminKey=`."""
        if authorization is not None:
            if len(authorization) < 7:
                raise ApiError(400, "InvalidHeaderFailure", "Invalid authentication header")
            scheme = authorization[:7].lower()
            if scheme == "convex ":
                return self._check(authorization[7:])
            if scheme == "bearer ":
                # An end-user token can never act as an admin key.
                raise _BAD_DEPLOY_KEY
            raise ApiError(400, "InvalidAdminKey", "Invalid admin key")
        if admin_key_param is not None:
            return self._check(admin_key_param)
        raise _BAD_DEPLOY_KEY

    def _check(self, key: str) -> Identity:
        identity = self._keys.get(strip_type_prefix(key.strip()))
        if identity is None:
            raise _BAD_ADMIN_KEY
        return identity

"""Typed access to request arguments, from a query string (GET) or a JSON body (POST).

Errors name the source the way the backend's extractors do: 400 BadQueryArgs for query
strings, 400 BadJsonBody for bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ApiError

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


@dataclass
class Args:
    values: dict[str, Any]
    from_query: bool
    client: str | None = None  # the Convex-Client header (the data sync API tags its sync ids with it)

    def error(self, message: str) -> ApiError:
        if self.from_query:
            return ApiError(400, "BadQueryArgs", f"Failed to deserialize query string: {message}")
        return ApiError(400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: {message}")

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.from_query:
            try:
                value = int(value, 10)
            except ValueError:
                raise self.error(f"{name}: invalid digit found in string") from None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{name}: invalid type: {type(value).__name__}, expected i64")
        if not _I64_MIN <= value <= _I64_MAX:
            raise self.error(f"{name}: number too large to fit in target type")
        return value

    def str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self.error(f"{name}: invalid type: {type(value).__name__}, expected a string")

    def bool(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None:
            return False
        if self.from_query:
            if value in ("true", "false"):
                return value == "true"
            raise self.error(f"{name}: provided string was not `true` or `false`")
        if not isinstance(value, bool):
            raise self.error(f"{name}: invalid type, expected a boolean")
        return value

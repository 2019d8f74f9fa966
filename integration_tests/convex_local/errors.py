"""The one error type the server raises to answer a request with Convex's JSON error shape."""

from __future__ import annotations

import json


class ApiError(Exception):
    """An HTTP error answered as `{"code": ..., "message": ...}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> bytes:
        return json.dumps({"code": self.code, "message": self.message}, separators=(",", ":")).encode("utf-8")


def internal_error() -> ApiError:
    """What Convex answers for an error without its own code."""
    return ApiError(500, "InternalServerError", "Your request couldn't be completed. Try again later.")


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)

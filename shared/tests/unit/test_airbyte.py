"""The connector boundary: ConvexError -> AirbyteTracedException with the right failure type."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from convex_shared import ConvexConfigError, ConvexTransientError
from convex_shared.airbyte import to_trace
from convex_shared.errors import error_for_status


@pytest.mark.parametrize(
    ("status", "code", "failure_type"),
    [(401, "BadAdminKey", FailureType.config_error), (400, "InvalidWindowToReadDocuments", FailureType.config_error),
     (503, None, FailureType.transient_error), (400, "MissingStream", FailureType.system_error)],
)
def test_traced_carries_failure_type_code_and_remedy(status: int, code: str | None, failure_type: FailureType) -> None:
    err = error_for_status(status, code, "convex text", route="/api/list_snapshot")
    exc = to_trace(err, "Reading stream users")
    assert isinstance(exc, AirbyteTracedException)
    assert exc.failure_type == failure_type
    assert exc.message is not None and exc.message.startswith("Reading stream users: ")
    assert err.explanation in exc.message and "convex text" in exc.message
    if code:
        assert code in exc.message and code in (exc.internal_message or "")
    trace = exc.as_airbyte_message().trace
    assert trace is not None and trace.error is not None and trace.error.failure_type == failure_type


def test_traced_without_status() -> None:
    exc = to_trace(ConvexConfigError("deployment_url is empty."), "Checking the connection")
    assert exc.failure_type == FailureType.config_error
    assert exc.message == "Checking the connection: deployment_url is empty."


def test_transient_class_maps_to_transient() -> None:
    assert to_trace(ConvexTransientError("x"), "c").failure_type == FailureType.transient_error

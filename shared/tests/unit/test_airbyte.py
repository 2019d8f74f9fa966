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


def test_step_names_what_was_being_done_and_the_innermost_wins() -> None:
    from convex_shared.errors import ConnectorError, step

    with pytest.raises(ConnectorError) as caught:
        with step("Writing to Convex"):
            with step("Importing a batch of users"):
                raise ConvexTransientError("Convex is overloaded.")
    trace = to_trace(caught.value)
    assert trace.message == "Importing a batch of users: Convex is overloaded."
    assert trace.failure_type == FailureType.transient_error


def test_a_connector_error_carries_its_remedy_and_type() -> None:
    from convex_shared.errors import ConnectorError

    err = ConnectorError("The saved state is not this connector's.", failure_type="config_error",
                         remedy="Reset the connection's state.")
    trace = to_trace(err, "Reading the saved state")
    assert trace.message == "Reading the saved state: The saved state is not this connector's. Reset the connection's state."
    assert trace.failure_type == FailureType.config_error


def test_record_dict_keeps_top_level_nulls() -> None:
    from airbyte_cdk.models import AirbyteRecordMessage

    from convex_shared.airbyte import record_dict

    record = AirbyteRecordMessage(stream="users", data={"_id": "a", "gone": None}, emitted_at=1)
    assert record_dict(record) == {"type": "RECORD", "record": {"stream": "users", "data": {"_id": "a", "gone": None},
                                                                  "emitted_at": 1}}
    with_namespace = AirbyteRecordMessage(stream="users", data={}, emitted_at=1, namespace="waitlist")
    assert record_dict(with_namespace)["record"]["namespace"] == "waitlist"


"""RECORD lines keep top-level nulls; every other message is printed exactly as the CDK prints it."""

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteStreamStatus, Type

from source_convex import messages
from source_convex.entrypoint import message_to_string
from source_convex.state import snapshot_started
from source_convex.config import TableRef


def _record(data: dict, namespace: str | None = None) -> AirbyteMessage:
    return AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream="users", data=data, emitted_at=7,
                                                                        namespace=namespace))


def test_record_keeps_top_level_nulls() -> None:
    line = message_to_string(_record({"_id": "a", "gone": None, "n": {"x": None}}))
    assert orjson.loads(line) == {"type": "RECORD", "record": {"stream": "users", "data": {
        "_id": "a", "gone": None, "n": {"x": None}}, "emitted_at": 7}}
    # What the CDK alone would print:
    assert "gone" not in AirbyteEntrypoint.airbyte_message_to_string(_record({"_id": "a", "gone": None}))


def test_record_matches_the_cdk_when_there_are_no_nulls() -> None:
    message = _record({"_id": "a", "big": 2**62, "f": 1.5, "s": "é", "l": [1, {"k": True}]}, namespace="waitlist")
    assert orjson.loads(message_to_string(message)) == orjson.loads(AirbyteEntrypoint.airbyte_message_to_string(message))


def test_values_orjson_cannot_write_fall_back_to_the_cdk() -> None:
    line = message_to_string(_record({"_id": "a", "huge": 2**70}))
    assert '"huge":' in line.replace(" ", "") and str(2**70) in line


def test_other_messages_are_the_cdks() -> None:
    for message in (messages.state(TableRef("", "users"), snapshot_started(5)),
                    messages.status("users", None, AirbyteStreamStatus.STARTED)):
        assert message_to_string(message) == AirbyteEntrypoint.airbyte_message_to_string(message)

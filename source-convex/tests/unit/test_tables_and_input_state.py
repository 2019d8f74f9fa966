"""Stream naming of tables, and legacy saved state converted to per-stream messages."""

from airbyte_cdk.models import AirbyteStateMessage, AirbyteStateType
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager

from source_convex.state import from_legacy_blob, normalize
from source_convex.config import TableRef


def test_table_refs() -> None:
    assert TableRef.parse("users") == TableRef("", "users")
    assert TableRef.parse("a/b/c") == TableRef("a/b", "c")
    assert TableRef("", "users").namespace is None
    assert TableRef("waitlist", "entries").namespace == "waitlist"
    assert TableRef.of_stream("entries", "waitlist") == TableRef("waitlist", "entries")
    assert str(TableRef("waitlist", "entries")) == "waitlist/entries"
    assert str(TableRef("", "users")) == "users"


def test_legacy_blob_reaches_the_cdk_state_manager() -> None:
    blob = {"users": {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 42}}
    manager = ConnectorStateManager(from_legacy_blob(blob))
    assert manager.get_stream_state("users", None) == blob["users"]


def test_legacy_message_is_expanded() -> None:
    message = AirbyteStateMessage(type=AirbyteStateType.LEGACY, data={"posts": {"delta_cursor": 1}})
    out = normalize([message])
    assert len(out) == 1 and out[0].type == AirbyteStateType.STREAM
    assert out[0].stream.stream_descriptor.name == "posts"

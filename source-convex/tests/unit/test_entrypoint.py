"""RECORD lines keep top-level nulls (one by one or a page at a time); every other message is printed exactly as
the CDK prints it."""

from collections.abc import Generator

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, AirbyteStreamStatus, Type
from hypothesis import given
from hypothesis import strategies as st

from source_convex import messages
from source_convex.config import TableRef
from source_convex.entrypoint import batch_to_lines, message_to_string
from source_convex.state import snapshot_started


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


# -- a page of records at once ------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(st.dictionaries(st.text(max_size=6), _json, max_size=5), max_size=6), st.sampled_from(["", "blog"]))
def test_a_batch_is_written_line_for_line_as_its_messages(documents: list[dict], component: str) -> None:
    batch = messages.RecordBatch(TableRef(component, "users"), documents, 7)
    chunks = list(batch_to_lines(batch, per_write=4))
    lines = [line for chunk in chunks for line in chunk.decode().split("\n")]
    assert lines == [message_to_string(message) for message in batch.messages()]
    assert len(chunks) == -(-len(documents) // 4)  # whole lines, at most 4 a write


def test_an_empty_batch_writes_nothing() -> None:
    assert list(batch_to_lines(messages.RecordBatch(TableRef("", "users"), [], 7))) == []


def test_rows_of_several_streams_are_batched_in_order() -> None:
    users, posts = TableRef("", "users"), TableRef("blog", "posts")
    rows = [(users, {"_id": "1", "_ts": 1}), (users, {"_id": "2", "_ts": 2}), (posts, {"_id": "3", "_ts": 3}),
            (users, {"_id": "4", "_ts": 4}), (users, {"_id": "5", "_ts": 5}), (users, {"_id": "6", "_ts": 6})]
    batches = list(messages.batched(iter(rows), size=2))
    assert [(b.table.name, [d["_id"] for d in b.documents]) for b in batches] == [
        ("users", ["1", "2"]), ("posts", ["3"]), ("users", ["4", "5"]), ("users", ["6"])]
    assert len({b.emitted_at for b in batches}) == 1
    assert all(d["_ab_cdc_lsn"] == d["_ts"] and d["_deleted"] is False for b in batches for d in b.documents)
    assert list(messages.batched(iter([]))) == []


def test_batched_returns_how_many_rows_it_emitted() -> None:
    users = TableRef("", "users")
    def emit() -> Generator[messages.RecordBatch, None, int]:
        count = yield from messages.batched(iter([(users, {"_id": str(n), "_ts": n}) for n in range(5)]), size=2)
        return count
    generator = emit()
    sizes = []
    try:
        while True:
            sizes.append(len(next(generator).documents))
    except StopIteration as done:
        assert done.value == 5
    assert sizes == [2, 2, 1]

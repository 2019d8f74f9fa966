"""Replacements: which replacing tables are written, kept or held, and what their spool gives back."""

from destination_convex.checkpoints import Checkpoints
from destination_convex.records import EncodedRecord
from destination_convex.replacement import Replacements, kept_message, stream_status

EMPTY = EncodedRecord(b"{}", 1, 100)


def status(name: str, value: str, namespace: str | None = None) -> dict:
    descriptor = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "stream_status": {
        "stream_descriptor": descriptor, "status": value}}}


def test_stream_status_reads_only_status_traces() -> None:
    assert stream_status(status("users", "COMPLETE", "shop")) == ("shop", "users", "COMPLETE")
    assert stream_status({"type": "TRACE", "trace": {"type": "ERROR", "error": {}}}) is None
    assert stream_status({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "stream_status": {}}}) is None


def test_spooled_records_come_back_in_order_once_complete(tmp_path) -> None:
    replacements = Replacements({"posts": "posts"}, spool_dir=str(tmp_path))
    # What the encoder makes: one message, or two for a dedup deletion, with Convex's write bytes.
    records = [EncodedRecord(b'{"tableName":"posts","data":{"n":%d,"s":"a\\nb c"}}' % i, 1 + i % 2, 300 + i)
               for i in range(5000)]
    for record in records:
        replacements.spool("posts", record)
    assert replacements.holds("posts")
    assert not replacements.status("posts", "RUNNING")
    assert replacements.status("posts", "COMPLETE")
    assert list(replacements.records("posts")) == records
    assert not replacements.holds("posts") and replacements.kept() == []


def test_incomplete_or_missing_complete_keeps_the_table() -> None:
    replacements = Replacements({"a": "a", "b": "b", "c": "c"})
    replacements.spool("a", EMPTY)
    replacements.status("a", "INCOMPLETE")
    assert replacements.given_up("a")
    replacements.spool("b", EMPTY)
    replacements.status("b", "STARTED")
    assert replacements.at_end_of_input() == []
    assert sorted(table for table, _held in replacements.kept()) == ["a", "b", "c"]
    message = kept_message(replacements.kept())
    assert "NOT replaced" in message and "INCOMPLETE" in message and "its 1 records were not written" in message


def test_without_any_status_the_end_of_input_replaces_tables_that_got_records() -> None:
    replacements = Replacements({"a": "a", "b": "b"})
    replacements.spool("a", EMPTY)
    assert replacements.at_end_of_input() == ["a"]
    assert [table for table, _held in replacements.kept()] == ["b"]


def test_abandoning_a_table_drops_the_states_that_wait_for_it_and_frees_later_ones() -> None:
    checkpoints = Checkpoints({(None, "a"): "a", (None, "b"): "b"})
    checkpoints.received((None, "a"), "a")
    checkpoints.state({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}}}})
    checkpoints.received((None, "b"), "b")
    checkpoints.state({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "b"}}}})
    checkpoints.acknowledged({"b": 1})
    assert checkpoints.release() == []  # b's state waits behind a's
    assert checkpoints.abandon("a") == 1
    (released,) = checkpoints.release()
    assert released["state"]["stream"]["stream_descriptor"]["name"] == "b"
    assert checkpoints.waiting == 0 and checkpoints.states_dropped == 1


def test_a_spool_that_cannot_be_written_is_a_clear_error(tmp_path) -> None:
    import pytest

    from destination_convex.errors import DestinationError

    replacements = Replacements({"posts": "posts"}, spool_dir=str(tmp_path / "missing"))
    with pytest.raises(DestinationError) as caught:
        replacements.spool("posts", EMPTY)
    assert "TMPDIR" in str(caught.value) and "'posts' was not changed" in str(caught.value)
    assert caught.value.failure_type == "config_error"

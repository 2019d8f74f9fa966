"""One top-level name mapping per stream, applied by the destination to every record."""

from hypothesis import given
from hypothesis import strategies as st

from convex_shared.naming import convex_field_name
from destination_convex.fields import FieldMapping


def test_a_chain_stream_keeps_one_name_for_id_in_every_record() -> None:
    # A table loaded by this destination, exported again: its own `_id` next to `source_id`.
    fields = FieldMapping(["_creationTime", "_id", "source_id", "name"])
    assert fields.name("_id") == "source_source_id"
    full = {"_id": "b1", "_creationTime": 1.0, "source_id": "a1", "name": "x"}
    delete = {"_id": "b1", "_ab_cdc_deleted_at": "2024"}  # a delete carries only the key
    assert fields.apply(full)["source_source_id"] == "b1"
    assert fields.apply(delete) == {"source_source_id": "b1", "source_ab_cdc_deleted_at": "2024"}
    # Convex would have stored the delete's `_id` as `source_id`: the name the index is not on.
    assert convex_field_name("_id") == "source_id"


def test_undeclared_keys_get_a_free_name_once_and_keep_it() -> None:
    fields = FieldMapping(["_id"])  # `_id` -> source_id
    assert fields.apply({"_id": 1, "source_id": 2}) == {"source_id": 1, "source_source_id": 2}
    assert fields.apply({"source_id": 3}) == {"source_source_id": 3}
    assert fields.renamed == [("_id", "source_id"), ("source_id", "source_source_id")]


def test_kept_names_claim_themselves_first() -> None:
    fields = FieldMapping(["_id", "source_id"])
    assert fields.name("source_id") == "source_id" and fields.name("_id") == "source_source_id"


def test_records_with_only_kept_names_are_passed_through() -> None:
    data = {"a": 1, "Reading Time (min)": 2}
    assert FieldMapping(["a"]).apply(data) is data


@given(st.lists(st.text(max_size=10), max_size=12), st.lists(st.dictionaries(st.text(max_size=10), st.integers(),
                                                                            max_size=8), max_size=5))
def test_the_mapping_is_injective_and_sends_only_names_convex_keeps(declared: list[str], records: list[dict]) -> None:
    fields = FieldMapping(declared)
    for data in records:
        stored = fields.apply(data)
        assert len(stored) == len(data) and list(stored.values()) == list(data.values())
        assert all(convex_field_name(name) == name for name in stored)
    names = [fields.name(key) for key in dict.fromkeys(declared)]
    assert len(set(names)) == len(names)

"""Record encoding: exact message bytes, metadata fields, and refusals that name the stream."""

import orjson
import pytest

from destination_convex.plan import StreamPlan, WriteMode
from destination_convex.records import RecordEncoder, RecordError

PLAN = StreamPlan(
    namespace="shop", name="orders", table="shop_orders", mode=WriteMode.APPEND, primary_key=None,
    json_schema={}, truncate=False, generation_id=7, renames=(),
)


def test_message_bytes() -> None:
    encoded = RecordEncoder(PLAN).encode({"stream": "orders", "data": {"_id": "x", "n": 1}, "emitted_at": 5})
    assert orjson.loads(encoded) == {"tableName": "shop_orders", "data": {"_id": "x", "n": 1}}


def test_metadata_fields() -> None:
    encoder = RecordEncoder(PLAN, store_airbyte_metadata=True)
    first = orjson.loads(encoder.encode({"data": {"n": 1}, "emitted_at": 1700000000000}))["data"]
    second = orjson.loads(encoder.encode({"data": {"n": 2}, "emitted_at": 1700000000001}))["data"]
    assert first["_airbyte_extracted_at"] == 1700000000000
    assert first["_airbyte_generation_id"] == 7
    assert len(first["_airbyte_raw_id"]) == 36 and first["_airbyte_raw_id"] != second["_airbyte_raw_id"]


@pytest.mark.parametrize("data", [None, [1, 2], "text", 3])
def test_data_that_is_not_an_object(data: object) -> None:
    with pytest.raises(RecordError) as caught:
        RecordEncoder(PLAN).encode({"data": data})
    assert "shop.orders" in str(caught.value)
    assert caught.value.failure_type == "system_error"


def test_oversized_record_names_stream_and_size() -> None:
    with pytest.raises(RecordError) as caught:
        RecordEncoder(PLAN).encode({"data": {"blob": "x" * (1024 * 1024)}})
    message = str(caught.value)
    assert "shop.orders" in message and "1.00 MiB" in message and "1048587 bytes" in message
    assert caught.value.failure_type == "config_error"


def test_a_record_just_under_the_limit_passes() -> None:
    data = {"blob": "x" * (1024 * 1024 - 20)}
    assert len(orjson.dumps(data)) <= 1024 * 1024
    RecordEncoder(PLAN).encode({"data": data})


# -- deletes in dedup mode: an upsert then the delete, as one unit ---------------------------

DEDUP = StreamPlan(
    namespace=None, name="users", table="users", mode=WriteMode.DEDUP, primary_key=(("source_id",),),
    json_schema={}, truncate=False, generation_id=None, renames=(),
)


def messages_of(encoded: bytes) -> list[dict]:
    """The import messages in one encoded unit, as they sit inside the request's array."""
    return orjson.loads(b"[" + encoded + b"]")


def test_a_dedup_delete_is_an_upsert_then_the_delete() -> None:
    data = {"_id": "u1", "name": "x", "_ab_cdc_deleted_at": "2024-01-01T00:00:00Z", "_ab_cdc_lsn": 9}
    upsert, delete = messages_of(RecordEncoder(DEDUP).encode({"data": data}))
    assert delete == {"tableName": "users", "data": data}
    assert upsert == {"tableName": "users", "data": {**data, "_ab_cdc_deleted_at": None}}
    assert list(upsert["data"]) == list(data), "same keys in the same order: Convex renames both halves alike"


@pytest.mark.parametrize("flag", [False, 0, "", {}, "2024-01-01"])
def test_any_flag_that_is_not_null_is_a_delete(flag: object) -> None:
    # Convex deletes when the stored flag "is not null": false and 0 included.
    encoded = RecordEncoder(DEDUP).encode({"data": {"_id": "u1", "_ab_cdc_deleted_at": flag}})
    assert [m["data"]["_ab_cdc_deleted_at"] for m in messages_of(encoded)] == [None, flag]


@pytest.mark.parametrize("data", [
    {"_id": "u1", "name": "x"},
    {"_id": "u1", "_ab_cdc_deleted_at": None},
    {"_id": "u1", "ab_cdc_deleted_at": "2024"},  # kept as is: not Convex's flag
])
def test_dedup_records_that_are_not_deletes_stay_one_message(data: dict) -> None:
    encoded = RecordEncoder(DEDUP).encode({"data": data})
    assert messages_of(encoded) == [{"tableName": "users", "data": data}]
    append = StreamPlan(**{**DEDUP.__dict__, "mode": WriteMode.APPEND, "primary_key": None})
    assert encoded == RecordEncoder(append).encode({"data": data}), "byte for byte what append sends"


@pytest.mark.parametrize("mode", [WriteMode.APPEND, WriteMode.OVERWRITE])
def test_append_and_overwrite_send_a_delete_once(mode: WriteMode) -> None:
    plan = StreamPlan(**{**DEDUP.__dict__, "mode": mode, "primary_key": None})
    data = {"_id": "u1", "_ab_cdc_deleted_at": "2024-01-01"}
    assert messages_of(RecordEncoder(plan).encode({"data": data})) == [{"tableName": "users", "data": data}]


def test_the_flag_is_the_field_convex_stores_as_source_ab_cdc_deleted_at() -> None:
    encoder = RecordEncoder(DEDUP)
    # Kept names claim theirs first: here Convex reads `source_ab_cdc_deleted_at` (null), and
    # stores `_ab_cdc_deleted_at` as `source_source_ab_cdc_deleted_at`. Not a delete.
    shadowed = {"_ab_cdc_deleted_at": "2024", "source_ab_cdc_deleted_at": None, "_id": "u1"}
    assert len(messages_of(encoder.encode({"data": shadowed}))) == 1
    # The verbatim field is the flag; the upsert half must null that one.
    verbatim = {"_id": "u1", "source_ab_cdc_deleted_at": "2024"}
    upsert, delete = messages_of(encoder.encode({"data": verbatim}))
    assert upsert["data"] == {"_id": "u1", "source_ab_cdc_deleted_at": None} and delete["data"] == verbatim
    # Another renamed key with the same slug that comes first takes the name.
    first_wins = {"$ab cdc deleted at": "2024", "_ab_cdc_deleted_at": None, "_id": "u1"}
    upsert, _ = messages_of(encoder.encode({"data": first_wins}))
    assert upsert["data"]["$ab cdc deleted at"] is None and upsert["data"]["_ab_cdc_deleted_at"] is None


def test_many_key_sets_are_all_classified_right() -> None:
    encoder = RecordEncoder(DEDUP)
    for i in range(3000):  # more key sets than the memo keeps
        data = {"_id": "u", f"f{i}": i, "_ab_cdc_deleted_at": "t" if i % 2 else None}
        assert len(messages_of(encoder.encode({"data": data}))) == (2 if i % 2 else 1)


def test_metadata_is_the_same_in_both_halves() -> None:
    encoded = RecordEncoder(DEDUP, store_airbyte_metadata=True).encode(
        {"data": {"_id": "u1", "_ab_cdc_deleted_at": "t"}, "emitted_at": 5})
    upsert, delete = messages_of(encoded)
    assert upsert["data"]["_airbyte_raw_id"] == delete["data"]["_airbyte_raw_id"]
    assert upsert["data"]["_ab_cdc_deleted_at"] is None and delete["data"]["_ab_cdc_deleted_at"] == "t"


def test_the_size_limit_holds_for_each_half() -> None:
    # `"_ab_cdc_deleted_at":1` fits by 1 byte; its upsert half (`null`) is 3 bytes longer.
    data = {"_id": "u1", "_ab_cdc_deleted_at": 1, "blob": ""}
    data["blob"] = "x" * (1024 * 1024 - len(orjson.dumps(data)))
    assert len(orjson.dumps(data)) == 1024 * 1024
    RecordEncoder(PLAN).encode({"data": data})  # append: one message, within the limit
    with pytest.raises(RecordError) as caught:
        RecordEncoder(DEDUP).encode({"data": data})
    assert "users" in str(caught.value) and "1048579 bytes" in str(caught.value)
    assert caught.value.failure_type == "config_error"

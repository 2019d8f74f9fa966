"""Record encoding: stored names, metadata fields, Convex's limits, and refusals naming the stream."""

import orjson
import pytest

from destination_convex.fields import FieldMapping
from destination_convex.plan import StreamPlan, WriteMode
from destination_convex.errors import DestinationError
from destination_convex.records import RecordEncoder
from destination_convex.sizes import APPEND_WRITE_OVERHEAD, SYSTEM_FIELDS_SIZE


def plan(mode: WriteMode = WriteMode.APPEND, declared: tuple[str, ...] = (), **changes: object) -> StreamPlan:
    fields = {
        "namespace": "shop", "name": "orders", "table": "shop_orders", "mode": mode,
        "primary_key": (("source_id",),) if mode is WriteMode.DEDUP else None, "json_schema": {},
        "truncate": False, "generation_id": 7, "fields": FieldMapping(declared), **changes,
    }
    return StreamPlan(**fields)  # type: ignore[arg-type]


def nested(levels: int) -> dict:
    """A document with `levels` objects below its top level (nesting `levels` + 1)."""
    deep: dict = {"v": 1}
    for _ in range(levels - 1):
        deep = {"d": deep}
    return {"d": deep}


def messages_of(encoded: bytes) -> list[dict]:
    """The import messages in one encoded unit, as they sit inside the request's array."""
    return orjson.loads(b"[" + encoded + b"]")


def test_message_bytes_carry_the_stored_names() -> None:
    encoded = RecordEncoder(plan()).encode({"stream": "orders", "data": {"_id": "x", "n": 1}, "emitted_at": 5})
    assert orjson.loads(encoded.data) == {"tableName": "shop_orders", "data": {"source_id": "x", "n": 1}}
    assert encoded.messages == 1
    size = 2 + (9 + 1 + 3) + (1 + 1 + 9) + SYSTEM_FIELDS_SIZE  # Convex's accounting, not JSON bytes
    assert encoded.write_bytes == size + APPEND_WRITE_OVERHEAD


def test_metadata_fields() -> None:
    encoder = RecordEncoder(plan(), store_airbyte_metadata=True)
    first = orjson.loads(encoder.encode({"data": {"n": 1}, "emitted_at": 1700000000000}).data)["data"]
    second = orjson.loads(encoder.encode({"data": {"n": 2}, "emitted_at": 1700000000001}).data)["data"]
    assert first["source_airbyte_extracted_at"] == 1700000000000
    assert first["source_airbyte_generation_id"] == 7
    assert len(first["source_airbyte_raw_id"]) == 36 and first["source_airbyte_raw_id"] != second["source_airbyte_raw_id"]


@pytest.mark.parametrize("data", [None, [1, 2], "text", 3])
def test_data_that_is_not_an_object(data: object) -> None:
    with pytest.raises(DestinationError) as caught:
        RecordEncoder(plan()).encode({"data": data})
    assert "shop.orders" in str(caught.value)
    assert caught.value.failure_type == "system_error"


def test_the_size_limit_is_convex_size_not_json_bytes() -> None:
    # 117,000 numbers: 234 KB of JSON, but 1.0 MiB as Convex counts them (9 bytes each).
    with pytest.raises(DestinationError) as caught:
        RecordEncoder(plan()).encode({"data": {"n": [[1] * 8000 for _ in range(15)]}})
    message = str(caught.value)
    assert "shop.orders" in message and "Convex's size accounting" in message
    assert caught.value.failure_type == "config_error"
    RecordEncoder(plan()).encode({"data": {"n": [[1] * 8000 for _ in range(14)]}})  # 0.96 MiB: fine


def test_a_string_record_just_under_the_limit_passes() -> None:
    RecordEncoder(plan()).encode({"data": {"blob": "x" * (1024 * 1024 - 100)}})
    with pytest.raises(DestinationError):
        RecordEncoder(plan()).encode({"data": {"blob": "x" * (1024 * 1024 - 60)}})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (nested(16), "nests more than 16 levels deep at field '" + ".".join(["d"] * 16) + "'"),
        ({"tags": list(range(8193))}, "array of 8193 items at field 'tags'"),
        ({"o": {f"k{i}": i for i in range(1025)}}, "object of 1025 fields at field 'o'"),
        ({f"k{i}": i for i in range(1023)}, "1023 top-level fields"),
    ],
)
def test_shape_limits_name_stream_and_field(data: dict, words: str) -> None:
    with pytest.raises(DestinationError) as caught:
        RecordEncoder(plan()).encode({"data": data})
    assert words in str(caught.value) and "shop.orders" in str(caught.value)
    assert caught.value.failure_type == "config_error"


def test_fifteen_levels_and_the_largest_shapes_pass() -> None:
    for data in (nested(15), {"tags": list(range(8192))}, {f"k{i}": i for i in range(1022)}):
        RecordEncoder(plan()).encode({"data": data})


# -- deletes in dedup mode: an upsert then the delete, as one unit ---------------------------


def test_a_dedup_delete_is_an_upsert_then_the_delete() -> None:
    data = {"_id": "u1", "name": "x", "_ab_cdc_deleted_at": "2024-01-01T00:00:00Z", "_ab_cdc_lsn": 9}
    encoded = RecordEncoder(plan(WriteMode.DEDUP)).encode({"data": data})
    upsert, delete = messages_of(encoded.data)
    stored = {"source_id": "u1", "name": "x", "source_ab_cdc_deleted_at": "2024-01-01T00:00:00Z", "source_ab_cdc_lsn": 9}
    assert delete == {"tableName": "shop_orders", "data": stored}
    assert upsert == {"tableName": "shop_orders", "data": {**stored, "source_ab_cdc_deleted_at": None}}
    assert encoded.messages == 2


@pytest.mark.parametrize("flag", [False, 0, "", {}, "2024-01-01"])
def test_any_flag_that_is_not_null_is_a_delete(flag: object) -> None:
    # Convex deletes when the stored flag "is not null": false and 0 included.
    encoded = RecordEncoder(plan(WriteMode.DEDUP)).encode({"data": {"_id": "u1", "_ab_cdc_deleted_at": flag}})
    assert [m["data"]["source_ab_cdc_deleted_at"] for m in messages_of(encoded.data)] == [None, flag]


@pytest.mark.parametrize("data", [
    {"_id": "u1", "name": "x"},
    {"_id": "u1", "_ab_cdc_deleted_at": None},
    {"_id": "u1", "ab_cdc_deleted_at": "2024"},  # kept as is: not Convex's flag
])
def test_dedup_records_that_are_not_deletes_stay_one_message(data: dict) -> None:
    encoded = RecordEncoder(plan(WriteMode.DEDUP)).encode({"data": data})
    assert len(messages_of(encoded.data)) == 1
    assert encoded.data == RecordEncoder(plan()).encode({"data": data}).data, "byte for byte what append sends"


@pytest.mark.parametrize("mode", [WriteMode.APPEND, WriteMode.OVERWRITE])
def test_append_and_overwrite_send_a_delete_once(mode: WriteMode) -> None:
    data = {"_id": "u1", "_ab_cdc_deleted_at": "2024-01-01"}
    (message,) = messages_of(RecordEncoder(plan(mode)).encode({"data": data}).data)
    assert message["data"] == {"source_id": "u1", "source_ab_cdc_deleted_at": "2024-01-01"}


def test_a_declared_source_id_moves_id_in_every_record_deletes_included() -> None:
    # A Convex -> Convex -> Convex chain: the stream has its own `_id` and the `source_id` of the
    # table before it. Convex alone would store a delete's `_id` as `source_id`.
    chain = plan(WriteMode.DEDUP, declared=("_id", "source_id", "name"), primary_key=(("source_source_id",),))
    encoder = RecordEncoder(chain)
    full = messages_of(encoder.encode({"data": {"_id": "b1", "source_id": "a1", "name": "x"}}).data)
    delete = messages_of(encoder.encode({"data": {"_id": "b1", "_ab_cdc_deleted_at": "t"}}).data)
    assert full[0]["data"]["source_source_id"] == "b1"
    assert [m["data"] for m in delete] == [{"source_source_id": "b1", "source_ab_cdc_deleted_at": None},
                                           {"source_source_id": "b1", "source_ab_cdc_deleted_at": "t"}]


def test_metadata_is_the_same_in_both_halves() -> None:
    encoded = RecordEncoder(plan(WriteMode.DEDUP), store_airbyte_metadata=True).encode(
        {"data": {"_id": "u1", "_ab_cdc_deleted_at": "t"}, "emitted_at": 5})
    upsert, delete = messages_of(encoded.data)
    assert upsert["data"]["source_airbyte_raw_id"] == delete["data"]["source_airbyte_raw_id"]
    assert upsert["data"]["source_ab_cdc_deleted_at"] is None and delete["data"]["source_ab_cdc_deleted_at"] == "t"

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

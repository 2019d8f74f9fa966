"""Batcher: exact byte bounds, only the request's own tables, never empty, bounded memory."""

import itertools
import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from destination_convex.fields import FieldMapping
from destination_convex.batches import Batcher, ImportRequest, TableSpec
from destination_convex.records import EncodedRecord

SPECS = [
    TableSpec("users", [["source_id"]], idempotent=True),
    TableSpec("orders", None, idempotent=False),
    TableSpec("logs", None, idempotent=False),
]


def message(table: str, index: int, size: int = 50) -> EncodedRecord:
    data = orjson.dumps({"tableName": table, "data": {"i": index, "pad": "x" * size}})
    return EncodedRecord(data, 1, len(data))


def check_request(request: ImportRequest, max_bytes: int | None = None) -> dict:
    body = orjson.loads(request.body)
    assert set(body) == {"tables", "messages"}
    assert body["messages"], "a request is never empty"
    tables_in_messages = [m["tableName"] for m in body["messages"]]
    assert set(body["tables"]) == set(tables_in_messages) == set(request.counts)
    assert {t: tables_in_messages.count(t) for t in request.counts} == dict(request.counts)
    if max_bytes is not None and len(body["messages"]) > 1:
        assert len(request.body) <= max_bytes
    return body


def test_size_flush_keeps_every_request_within_the_limit_and_in_order() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=2000, max_buffered_bytes=10**9)
    requests = []
    for index in range(200):
        requests += batcher.add("users", message("users", index))
    requests += batcher.take(["users"])
    sent = [m["data"]["i"] for r in requests for m in check_request(r, 2000)["messages"]]
    assert sent == list(range(200))
    assert all(len(r.body) <= 2000 for r in requests)
    # Full requests: the next message would not have fitted.
    for request in requests[:-1]:
        assert len(request.body) + len(message("users", 0).data) + 1 > 2000
    entry = orjson.loads(requests[0].body)["tables"]["users"]
    assert entry == {"primaryKey": [["source_id"]], "jsonSchema": {}}  # required by Convex, ignored: never the schema
    assert requests[0].idempotent


def test_a_message_larger_than_the_batch_goes_alone() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=500, max_buffered_bytes=10**9)
    closed = batcher.add("logs", message("logs", 1, size=10))
    closed += batcher.add("logs", message("logs", 2, size=2000))
    closed += batcher.add("logs", message("logs", 3, size=10))
    closed += batcher.take(["logs"])
    assert [r.record_count for r in closed] == [1, 1, 1]
    for request in closed:
        check_request(request)


def test_take_packs_small_tables_together_and_skips_empty_ones() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=10_000, max_buffered_bytes=10**9)
    for index in range(3):
        batcher.add("users", message("users", index))
        batcher.add("orders", message("orders", index))
    (request,) = batcher.take(["users", "orders", "logs"])
    body = check_request(request, 10_000)
    assert list(body["tables"]) == ["users", "orders"]
    assert dict(request.counts) == {"users": 3, "orders": 3}
    assert not request.idempotent  # one append table makes retries unsafe
    assert batcher.take(["users", "orders", "logs"]) == []
    assert batcher.buffered_bytes == 0


def test_take_splits_when_tables_do_not_fit_together() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=1200, max_buffered_bytes=10**9)
    for index in range(8):
        batcher.add("users", message("users", index))
        batcher.add("orders", message("orders", index))
    requests = batcher.take(["users", "orders"])
    assert [tuple(r.counts) for r in requests] == [("users",), ("orders",)]
    for request in requests:
        check_request(request, 1200)


def test_buffered_bytes_stay_bounded_across_many_tables() -> None:
    specs = [TableSpec(f"t{i}", None, idempotent=False) for i in range(50)]
    batcher = Batcher(specs, max_batch_bytes=100_000, max_buffered_bytes=5_000)
    closed = []
    for index in range(2000):
        table = f"t{index % 50}"
        closed += batcher.add(table, message(table, index))
        assert batcher.buffered_bytes <= 5_000 + 200
    assert closed, "the biggest buffers were closed to respect the memory bound"
    for request in closed:
        check_request(request)


def test_ages() -> None:
    now = [100.0]
    batcher = Batcher(SPECS, max_batch_bytes=10_000, max_buffered_bytes=10**9, clock=lambda: now[0])
    batcher.add("users", message("users", 1))
    now[0] = 105.0
    batcher.add("orders", message("orders", 1))
    assert batcher.opened_before(103.0) == ["users"]
    batcher.take(["users"])
    assert batcher.opened_before(200.0) == ["orders"]


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=300, max_value=5000),
    sizes=st.lists(st.tuples(st.sampled_from(["users", "orders", "logs"]), st.integers(0, 400)), max_size=120),
    take_every=st.integers(min_value=1, max_value=50),
)
def test_property_bounds_order_and_completeness(limit: int, sizes: list[tuple[str, int]], take_every: int) -> None:
    batcher = Batcher(SPECS, max_batch_bytes=limit, max_buffered_bytes=limit * 2)
    requests = []
    for index, (table, size) in enumerate(sizes):
        requests += batcher.add(table, message(table, index, size))
        if index % take_every == 0:
            requests += batcher.take(random.Random(index).sample(["users", "orders", "logs"], 2))
    requests += batcher.take(["users", "orders", "logs"])
    seen: dict[str, list[int]] = {"users": [], "orders": [], "logs": []}
    for request in requests:
        for m in check_request(request, limit)["messages"]:
            seen[m["tableName"]].append(m["data"]["i"])
    for table in seen:
        assert seen[table] == [i for i, (t, _) in enumerate(sizes) if t == table]
    assert sum(r.record_count for r in requests) == len(sizes)
    assert list(itertools.chain(*seen.values())).__len__() == len(sizes)


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=300, max_value=4000),
    records=st.lists(st.tuples(st.booleans(), st.integers(0, 300)), max_size=120),
    take_every=st.integers(min_value=1, max_value=40),
)
def test_property_a_dedup_delete_is_never_split_and_counts_once(
    limit: int, records: list[tuple[bool, int]], take_every: int
) -> None:
    """Upsert+delete units from the real encoder: both halves in one request, adjacent and in
    order; `counts` counts records (not messages); requests within the limit."""
    from destination_convex.plan import StreamPlan, WriteMode
    from destination_convex.records import RecordEncoder

    plan = StreamPlan(namespace=None, name="users", table="users", mode=WriteMode.DEDUP,
                      primary_key=(("source_id",),), json_schema={}, truncate=False, generation_id=None, fields=FieldMapping([]))
    encoder = RecordEncoder(plan)
    batcher = Batcher(SPECS, max_batch_bytes=limit, max_buffered_bytes=limit * 2)
    requests = []
    for index, (deleted, size) in enumerate(records):
        data = {"_id": f"u{index}", "i": index, "pad": "x" * size, "_ab_cdc_deleted_at": "t" if deleted else None}
        requests += batcher.add("users", encoder.encode({"data": data}))
        if index % take_every == 0:
            requests += batcher.take(["users"])
    requests += batcher.take(["users"])
    sent = []
    for request in requests:
        body = orjson.loads(request.body)
        units = []
        for m in body["messages"]:
            if units and units[-1][0] == m["data"]["i"]:
                units[-1].append(m["data"]["source_ab_cdc_deleted_at"])  # the delete half right after its upsert
            else:
                units.append([m["data"]["i"], m["data"]["source_ab_cdc_deleted_at"]])
        assert request.counts == {"users": len(units)}
        if len(units) > 1:
            assert len(request.body) <= limit
        sent += units
    expected = [[i, None, "t"] if deleted else [i, None] for i, (deleted, _) in enumerate(records)]
    assert sent == expected


def test_a_request_holds_at_most_16000_messages_so_it_is_one_convex_transaction() -> None:
    # ~60-byte records: 16,000 of them are under 1 MiB, so bytes alone would pack far more.
    batcher = Batcher(SPECS, max_batch_bytes=12 * 1024 * 1024, max_buffered_bytes=10**9)
    requests = []
    for index in range(40_000):
        requests += batcher.add("logs", message("logs", index, size=10))
    requests += batcher.take(["logs"])
    assert [len(orjson.loads(r.body)["messages"]) for r in requests] == [16_000, 16_000, 8_000]


def test_a_dedup_deletion_counts_two_messages() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=12 * 1024 * 1024, max_buffered_bytes=10**9)
    pair = EncodedRecord(message("users", 0).data + b"," + message("users", 0).data, 2, 100)
    requests = []
    for _ in range(9000):
        requests += batcher.add("users", pair)
    assert [len(orjson.loads(r.body)["messages"]) for r in requests] == [16_000]


def test_requests_are_bounded_by_convex_write_bytes() -> None:
    batcher = Batcher(SPECS, max_batch_bytes=12 * 1024 * 1024, max_buffered_bytes=10**9, max_write_bytes=1000)
    heavy = EncodedRecord(message("logs", 0).data, 1, 400)  # few JSON bytes, many Convex bytes
    requests = []
    for _ in range(10):
        requests += batcher.add("logs", heavy)
    requests += batcher.take(["logs"])
    assert [r.write_bytes for r in requests] == [800] * 5

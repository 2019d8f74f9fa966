"""Mutation mode's batches (count and byte bounds, batch ids) and the split of a call over a limit."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer
from convex_shared.functions import ConvexFunctionError, Failure

from destination_convex.input import IterableSource
from destination_convex.errors import ConfigurationError
from destination_convex.mutation_writer import MutationBatcher, MutationCall, MutationWriter
from destination_convex.options import WriterOptions
from destination_convex.plan import plan_catalog


def _plans(mode: str = "append_dedup") -> Any:
    catalog = ConfiguredAirbyteCatalogSerializer.load({"streams": [{
        "stream": {"name": "people", "json_schema": {"type": "object"}, "supported_sync_modes": ["incremental"]},
        "sync_mode": "incremental", "destination_sync_mode": mode, "primary_key": [["id"]]}]})
    return plan_catalog(catalog)


def _args(call: MutationCall) -> dict[str, Any]:
    return orjson.loads(call.body)  # type: ignore[no-any-return]


def test_calls_are_bounded_by_records_and_bytes_and_carry_the_contract() -> None:
    plans = _plans()
    batcher = MutationBatcher(plans, {plans[0].key: [["id"]]}, max_records=3, max_bytes=10_000)
    table = plans[0].table
    calls = [call for i in range(7) for call in batcher.add(table, orjson.dumps({"id": i}))]
    calls += batcher.take([table])
    assert [len(_args(c)["records"]) for c in calls] == [3, 3, 1]  # type: ignore[arg-type]
    first = _args(calls[0])  # type: ignore[arg-type]
    assert first["stream"] == "people" and first["primaryKey"] == [["id"]] and first["syncMode"] == "append_dedup"
    assert len({_args(c)["batchId"] for c in calls}) == 3  # type: ignore[arg-type]
    assert [c.first_record for c in calls] == [1, 4, 7]  # type: ignore[attr-defined]
    small = MutationBatcher(plans, {}, max_records=100, max_bytes=300)
    sized = [call for i in range(20) for call in small.add(table, orjson.dumps({"id": i, "pad": "x" * 40}))]
    assert sized and all(len(c.body) <= 300 for c in sized)


def _writer(send: Any, max_records: int = 8) -> MutationWriter:
    plans = _plans()
    return MutationWriter(send, "the Convex mutation ingest:records", plans, {plans[0].key: [["id"]]},
                          WriterOptions(), max_records, logging.getLogger("test"))


def _records(n: int) -> list[dict[str, Any]]:
    return [{"type": "RECORD", "record": {"stream": "people", "data": {"id": i}, "emitted_at": 1}} for i in range(n)] + [
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "people"},
                                                                  "stream_state": {"n": n}}}}]


def test_a_call_over_a_limit_is_split_until_it_fits_and_the_state_still_goes_out() -> None:
    sent: list[dict[str, Any]] = []

    def send(body: bytes) -> None:
        args = orjson.loads(body)
        if len(args["records"]) > 2:
            raise ConvexFunctionError("ingest:records", Failure.LIMIT, "Too many writes in a single function execution")
        sent.append(args)

    states = list(_writer(send).run(IterableSource(_records(8))))
    assert len(states) == 1
    assert [r["id"] for call in sent for r in call["records"]] == list(range(8))  # in order, each once
    assert all("." in call["batchId"] for call in sent)


def test_a_convex_error_names_the_record_by_its_position_in_the_sync() -> None:
    def send(body: bytes) -> None:
        args = orjson.loads(body)
        for index, record in enumerate(args["records"]):
            if record["id"] == 5:
                raise ConvexFunctionError("ingest:records", Failure.CONVEX_ERROR, "Uncaught ConvexError",
                                          {"recordIndex": index})

    with pytest.raises(ConfigurationError, match=r"record 6 \(position 1 in batch"):
        list(_writer(send, max_records=4).run(IterableSource(_records(8))))

"""Writer loop with an in-memory stand-in for the Convex client.

The stand-in records each import body and when it returned, so the tests can check that a
STATE is yielded only after the requests carrying its records came back, that requests stay
within their bounds, and that a failure ends the sync with no state after it. The same flows
run against the local server in the integration tests.
"""

import logging
import threading
import time
from typing import Any

import orjson
import pytest
from convex_shared import ConvexRequestError

from destination_convex.fields import FieldMapping
from destination_convex.errors import ConvexStepError
from destination_convex.input import IterableSource
from destination_convex.options import WriterOptions
from destination_convex.plan import StreamPlan, WriteMode
from destination_convex.records import RecordError
from destination_convex.writer import UnknownStreamError, Writer


def plan(name: str, mode: WriteMode = WriteMode.APPEND) -> StreamPlan:
    key = (("source_id",),) if mode is WriteMode.DEDUP else None
    return StreamPlan(namespace=None, name=name, table=name, mode=mode, primary_key=key, json_schema={},
                      truncate=False, generation_id=None, fields=FieldMapping([]))


class FakeClient:
    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.returned: list[int] = []  # index of each body, in the order its request returned

    def import_airbyte_records(self, body: bytes, *, idempotent: bool) -> None:
        with self.lock:
            index = len(self.bodies)
            self.bodies.append(orjson.loads(body))
        time.sleep(self.delay)
        if self.fail_on is not None and index == self.fail_on:
            raise ConvexRequestError("Convex refused the batch.", status=400, code="MissingPrimaryKeyValue")
        with self.lock:
            self.returned.append(index)


def record(stream: str, i: int) -> dict[str, Any]:
    return {"type": "RECORD", "record": {"stream": stream, "data": {"_id": f"{stream}{i}", "i": i}, "emitted_at": 1}}


def state(stream: str, n: int) -> dict[str, Any]:
    return {"type": "STATE", "state": {"type": "STREAM",
                                       "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"n": n}}}}


def run(client: FakeClient, plans: list[StreamPlan], messages: list[dict], **options: Any) -> list[tuple[dict, list[int]]]:
    """Run the writer; for each yielded state, note which requests had returned by then."""
    writer = Writer(client, plans, WriterOptions(**options), logging.getLogger("test"))  # type: ignore[arg-type]
    out = []
    for message in writer.run(IterableSource(messages, batch_size=7)):
        with client.lock:
            out.append((message, list(client.returned)))
    return out


def records_of(body: dict[str, Any]) -> list[int]:
    return [m["data"]["i"] for m in body["messages"]]


@pytest.mark.timeout(30)
def test_each_state_follows_the_requests_holding_its_records() -> None:
    client = FakeClient(delay=0.005)
    messages = []
    for n in range(20):
        messages += [record("a", n * 10 + i) for i in range(10)] + [record("b", n * 5 + i) for i in range(5)]
        messages.append(state("a" if n % 2 else "b", n))
    emitted = run(client, [plan("a"), plan("b")], messages, max_batch_bytes=600, max_parallel_requests=3)
    assert [m["state"]["stream"]["stream_state"]["n"] for m, _ in emitted] == list(range(20))
    position = {}
    for index, body in enumerate(client.bodies):
        for m in body["messages"]:
            position[(m["tableName"], m["data"]["i"])] = index
        assert len(orjson.dumps(body)) <= 600 or len(body["messages"]) == 1
    for message, returned in emitted:
        n = message["state"]["stream"]["stream_state"]["n"]
        stream = message["state"]["stream"]["stream_descriptor"]["name"]
        needed = {position[(stream, i)] for i in range((n + 1) * 10 if stream == "a" else (n + 1) * 5)}
        assert needed <= set(returned)
    # Every record sent once, in order per table.
    for table, count in (("a", 200), ("b", 100)):
        sent = [i for body in client.bodies for m in body["messages"] if m["tableName"] == table for i in [m["data"]["i"]]]
        assert sent == list(range(count))
    assert emitted[0][0]["state"]["destinationStats"] == {"recordCount": 5.0}
    assert emitted[1][0]["state"]["destinationStats"] == {"recordCount": 20.0}


@pytest.mark.timeout(30)
def test_frequent_states_are_group_committed_while_a_request_runs() -> None:
    client = FakeClient(delay=0.05)
    messages = []
    for n in range(100):
        messages += [record("a", n), state("a", n)]
    emitted = run(client, [plan("a")], messages)
    assert len(emitted) == 100
    assert len(client.bodies) < 50, "states arriving during a request share the next request"


@pytest.mark.timeout(30)
def test_failure_raises_and_emits_no_later_state() -> None:
    client = FakeClient(fail_on=1)
    messages = [record("a", 0), state("a", 0), record("a", 1), state("a", 1), record("a", 2), state("a", 2)]
    writer = Writer(client, [plan("a", WriteMode.DEDUP)], WriterOptions(), logging.getLogger("test"))  # type: ignore[arg-type]
    emitted = []
    with pytest.raises(ConvexStepError) as caught:
        for message in writer.run(IterableSource(messages, batch_size=2)):
            emitted.append(message)
    assert [m["state"]["stream"]["stream_state"]["n"] for m in emitted] == [0]
    assert "records of stream(s) 'a' into the Convex table(s) a: Convex refused the batch." in str(caught.value)
    assert caught.value.error.code == "MissingPrimaryKeyValue"


def test_record_problems_stop_the_sync() -> None:
    with pytest.raises(UnknownStreamError, match="'zzz'"):
        run(FakeClient(), [plan("a")], [record("zzz", 1)])
    bad = {"type": "RECORD", "record": {"stream": "a", "data": [1, 2]}}
    with pytest.raises(RecordError, match="'a'"):
        run(FakeClient(), [plan("a")], [bad])


def test_no_records_means_no_requests_and_states_pass_through() -> None:
    client = FakeClient()
    emitted = run(client, [plan("a")], [state("a", 1), {"type": "LOG", "log": {}}, state("a", 2)])
    assert len(emitted) == 2 and client.bodies == []


@pytest.mark.timeout(30)
def test_buffers_are_flushed_by_age() -> None:
    client = FakeClient()
    now = [0.0]
    writer = Writer(client, [plan("a")], WriterOptions(flush_interval_s=5), logging.getLogger("test"),  # type: ignore[arg-type]
                    clock=lambda: now[0])

    def batches() -> Any:
        yield [record("a", 1)]
        now[0] = 3.0
        yield []
        assert client.bodies == []
        now[0] = 6.0
        yield []
        deadline = time.monotonic() + 5
        while not client.bodies and time.monotonic() < deadline:
            time.sleep(0.01)
        assert records_of(client.bodies[0]) == [1], "sent after its age passed, before end of input"
        yield [record("a", 2)]

    class Source:
        def wake(self) -> None: ...
        def batches(self, tick_s: float) -> Any:
            return batches()

    list(writer.run(Source()))
    assert [records_of(body) for body in client.bodies] == [[1], [2]]


def test_the_cdk_write_interface_keeps_null_fields() -> None:
    from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, Type

    from destination_convex.destination import _as_dict

    message = AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream="t", data={"a": None}, emitted_at=1))
    assert _as_dict(message)["record"]["data"] == {"a": None}


@pytest.mark.timeout(30)
def test_dedup_deletes_count_once_and_travel_with_their_upsert() -> None:
    """Each delete is two import messages, in one request; states wait for both and count the
    record once in destinationStats."""
    client = FakeClient(delay=0.002)
    messages = []
    for n in range(10):
        for i in range(n * 6, n * 6 + 6):
            data = {"_id": f"a{i}", "i": i, "_ab_cdc_deleted_at": "2024" if i % 3 == 0 else None}
            messages.append({"type": "RECORD", "record": {"stream": "a", "data": data, "emitted_at": 1}})
        messages.append(state("a", n))
    emitted = run(client, [plan("a", WriteMode.DEDUP)], messages, max_batch_bytes=300)
    assert [m["state"]["destinationStats"] for m, _ in emitted] == [{"recordCount": 6.0}] * 10
    position: dict[int, set[int]] = {}
    sent = []
    for index, body in enumerate(client.bodies):
        for m in body["messages"]:
            position.setdefault(m["data"]["i"], set()).add(index)
            sent.append((m["data"]["i"], m["data"]["source_ab_cdc_deleted_at"]))
    assert all(len(requests) == 1 for requests in position.values()), "an upsert and its delete share a request"
    expected = []
    for i in range(60):
        expected += [(i, None), (i, "2024")] if i % 3 == 0 else [(i, None)]
    assert sent == expected
    for message, returned in emitted:
        n = message["state"]["stream"]["stream_state"]["n"]
        assert {index for i in range((n + 1) * 6) for index in position[i]} <= set(returned)


def stream_status(stream: str, value: str) -> dict[str, Any]:
    return {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0, "stream_status": {
        "stream_descriptor": {"name": stream}, "status": value}}}


@pytest.mark.timeout(30)
def test_records_after_a_replacement_was_given_up_hold_back_no_state() -> None:
    """The source reported the overwrite stream INCOMPLETE, then sent more of its records: they are never
    written, so a later STATE waits only for the records that are (and does not count the dropped ones)."""
    client = FakeClient()
    replaced = StreamPlan(namespace=None, name="a", table="a", mode=WriteMode.APPEND, primary_key=None,
                          json_schema={}, truncate=True, generation_id=None, fields=FieldMapping([]))
    messages = [stream_status("a", "STARTED"), record("a", 0), stream_status("a", "INCOMPLETE"), record("a", 1),
                record("b", 0), record("b", 1),
                {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"n": 1}, "stream_states": []}}}]
    writer = Writer(client, [replaced, plan("b")], WriterOptions(), logging.getLogger("test"))  # type: ignore[arg-type]
    out = []
    with pytest.raises(Exception, match="NOT replaced"):
        for message in writer.run(IterableSource(messages, batch_size=7)):
            out.append(message)
    assert [m["state"]["type"] for m in out] == ["GLOBAL"]
    assert out[0]["state"]["destinationStats"]["recordCount"] == 2.0  # b's two records, not a's late one
    assert [records_of(body) for body in client.bodies] == [[0, 1]]

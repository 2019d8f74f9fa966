"""Setup: one clear for all truncating streams, indexes on stored names, polling with a deadline.

The Convex client is replaced by a small fake that records calls: these tests are about the
order and arguments of setup calls and the timing logic, not HTTP (the integration tests run
the same code against the local server).
"""

import logging
from typing import Any

import pytest
from convex_shared import ConvexRequestError

from destination_convex.fields import FieldMapping
from destination_convex.errors import ConfigurationError, ConvexStepError
from destination_convex.plan import StreamPlan, WriteMode
from destination_convex.errors import DestinationError
from destination_convex.preparation import prepare_tables


def plan(name: str, mode: WriteMode, truncate: bool = False, key: tuple = ()) -> StreamPlan:
    return StreamPlan(
        namespace=None, name=name, table=name, mode=mode, primary_key=key or None, json_schema={},
        truncate=truncate, generation_id=None, fields=FieldMapping([]),
    )


class FakeClient:
    def __init__(self, ready_after: int = 0, index_error: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.ready_after = ready_after
        self.index_error = index_error

    def clear_tables(self, tables: list[str]) -> None:
        self.calls.append(("clear_tables", list(tables)))

    def add_primary_key_indexes(self, indexes: dict) -> None:
        self.calls.append(("add_primary_key_indexes", indexes))
        if self.index_error:
            raise self.index_error

    def primary_key_indexes_ready(self, tables: list[str]) -> bool:
        self.calls.append(("primary_key_indexes_ready", list(tables)))
        return sum(1 for c in self.calls if c[0] == "primary_key_indexes_ready") > self.ready_after


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(client: FakeClient, plans: list[StreamPlan], timeout: float = 60, caplog: Any = None) -> FakeTime:
    fake = FakeTime()
    prepare_tables(client, plans, index_ready_timeout_s=timeout, logger=logging.getLogger("test"),  # type: ignore[arg-type]
                   sleep=fake.sleep, clock=lambda: fake.now)
    return fake


def test_append_only_does_nothing() -> None:
    client = FakeClient()
    run(client, [plan("a", WriteMode.APPEND)])
    assert client.calls == []


def test_nothing_is_cleared_at_start_then_indexes_then_poll() -> None:
    client = FakeClient(ready_after=2)
    plans = [
        plan("a", WriteMode.OVERWRITE, truncate=True),
        plan("b", WriteMode.APPEND, truncate=True),
        plan("c", WriteMode.DEDUP, truncate=True, key=(("source_id",),)),
        plan("d", WriteMode.DEDUP, key=(("meta", "k"), ("n",))),
    ]
    fake = run(client, plans)
    # Overwrite and truncate refreshes clear only once their stream is complete (the writer's job).
    assert client.calls[0] == ("add_primary_key_indexes", {"c": [["source_id"]], "d": [["meta", "k"], ["n"]]})
    assert client.calls[1:] == [("primary_key_indexes_ready", ["c", "d"])] * 3
    assert fake.sleeps == [0.25, 0.5], "exponential backoff"


def test_progress_is_logged_while_waiting(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient(ready_after=12)
    with caplog.at_level(logging.INFO):
        fake = run(client, [plan("d", WriteMode.DEDUP, key=(("n",),))], timeout=600)
    waiting = [r for r in caplog.records if "Waiting for Convex" in r.getMessage()]
    assert len(waiting) >= 2
    assert max(fake.sleeps) == 10.0
    assert "ready after" in caplog.text


def test_timeout_is_a_clear_error() -> None:
    client = FakeClient(ready_after=10**9)
    with pytest.raises(DestinationError) as caught:
        run(client, [plan("d", WriteMode.DEDUP, key=(("n",),))], timeout=5)
    assert "within 5 s" in str(caught.value) and "d" in str(caught.value)
    assert caught.value.failure_type == "transient_error"


def test_invalid_primary_key_from_convex_is_a_config_error_naming_the_stream() -> None:
    error = ConvexRequestError("bad", status=400, code="InvalidPrimaryKey", convex_message="Invalid field name")
    client = FakeClient(index_error=error)
    with pytest.raises(ConfigurationError) as caught:
        run(client, [plan("orders", WriteMode.DEDUP, key=(("n",),))])
    assert "orders" in str(caught.value) and "Invalid field name" in str(caught.value)


def test_other_convex_errors_keep_their_classification() -> None:
    error = ConvexRequestError("Convex said no", status=400, code="Other")
    client = FakeClient(index_error=error)
    with pytest.raises(ConvexStepError) as caught:
        run(client, [plan("orders", WriteMode.DEDUP, key=(("n",),))])
    assert caught.value.error is error

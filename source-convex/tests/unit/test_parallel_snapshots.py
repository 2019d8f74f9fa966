"""Parallel snapshots' driver and lanes: order per table, requests in flight and pages held bounded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from airbyte_cdk.models import AirbyteMessage

from source_convex import messages
from source_convex.cadence import Cadence, Checkpoints
from source_convex.page_lanes import TURN, Lane
from source_convex.parallel_snapshots import ParallelSnapshots
from source_convex.config import TableRef

PAGES = 6


class _Page:
    """A page that counts how many pages are alive (held anywhere) at once."""

    alive = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, table: str, number: int) -> None:
        self.table, self.number = table, number
        with _Page.lock:
            _Page.alive += 1
            _Page.peak = max(_Page.peak, _Page.alive)

    def __del__(self) -> None:
        with _Page.lock:
            _Page.alive -= 1


class _Server:
    """Fetches that take a while and count the requests in flight, in total and per table."""

    def __init__(self, fail_at: tuple[str, int] | None = None) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.peak_total = 0
        self.peak_per_table = 0
        self.fail_at = fail_at

    def fetch(self, table: str, number: int) -> _Page:
        with self.lock:
            self.in_flight[table] = self.in_flight.get(table, 0) + 1
            self.peak_total = max(self.peak_total, sum(self.in_flight.values()))
            self.peak_per_table = max(self.peak_per_table, self.in_flight[table])
        time.sleep(0.01)
        with self.lock:
            self.in_flight[table] -= 1
        if (table, number) == self.fail_at:
            raise ValueError(f"page {number} of {table} failed")
        return _Page(table, number)


def _context() -> Checkpoints:
    return Checkpoints(Cadence(), logging.getLogger("test"))


def _job(server: _Server, table: TableRef, emitted: list[tuple[str, int]]) -> Any:
    def job(lane: Lane[int, _Page]) -> Iterator[AirbyteMessage]:
        for page in lane.pages(
            lambda n: server.fetch(table.name, n),
            0,
            lambda n, _: n + 1 if n + 1 < PAGES else None,
            lambda: server.fetch(table.name, 0),
        ):
            if page is None:
                yield TURN
                continue
            emitted.append((page.table, page.number))
            yield messages.status(table.name, None, messages.AirbyteStreamStatus.RUNNING)

    return job


def test_every_table_in_order_interleaved_with_bounded_requests_and_pages() -> None:
    server, emitted = _Server(), []
    tables = [TableRef("", f"t{n}") for n in range(7)]
    out = list(
        ParallelSnapshots(3, _context(), lambda _: None).read(
            [(table, _job(server, table, emitted)) for table in tables]
        )
    )
    assert TURN not in out and len(out) == len(tables) * PAGES
    for table in tables:
        assert [n for name, n in emitted if name == table.name] == list(range(PAGES))
    assert len({name for name, _ in emitted[:9]}) == 3  # the first three tables went page by page, in turns
    assert server.peak_per_table == 1 and server.peak_total == 3
    assert _Page.peak <= 2 * 3


def test_a_failing_page_surfaces_in_its_table_after_what_was_emitted() -> None:
    server, emitted = _Server(fail_at=("t1", 3)), []
    turns: list[str] = []
    tables = [TableRef("", f"t{n}") for n in range(3)]
    with pytest.raises(ValueError, match="page 3 of t1"):
        for _ in ParallelSnapshots(2, _context(), lambda table: turns.append(table.name)).read(
            [(table, _job(server, table, emitted)) for table in tables]
        ):
            pass
    assert turns[-1] == "t1"  # the orchestrator names the failing table
    assert [n for name, n in emitted if name == "t1"] == [0, 1, 2]

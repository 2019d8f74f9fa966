"""Pipeline: parallel across tables, strictly ordered within one, bounded bytes, failures stop it."""

import threading
import time
from typing import Callable

import pytest

from destination_convex.batches import ImportRequest
from destination_convex.pipeline import Pipeline, RequestFailed


def request(table: str, index: int, size: int = 10, *tables: str) -> ImportRequest:
    counts = {table: 1, **{t: 1 for t in tables}}
    return ImportRequest(body=f"{table}:{index}".encode().ljust(size), counts=counts, idempotent=True)


class Recorder:
    """A send function that records start/end order and how many ran at once."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.started: list[bytes] = []
        self.running: dict[str, int] = {}
        self.max_parallel = 0
        self.overlaps_within_table = 0
        self.now = 0

    def __call__(self, req: ImportRequest) -> None:
        with self.lock:
            self.started.append(req.body.strip())
            for table in req.counts:
                if self.running.get(table):
                    self.overlaps_within_table += 1
                self.running[table] = self.running.get(table, 0) + 1
            self.now += 1
            self.max_parallel = max(self.max_parallel, self.now)
        time.sleep(self.delay)
        with self.lock:
            self.now -= 1
            for table in req.counts:
                self.running[table] -= 1


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for a state, not for a time: a slow machine only makes this slower, and a state that
    never comes fails the test instead of passing it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.001)


def start_workers(pipeline: Pipeline) -> list[threading.Thread]:
    """`pipeline.start()`, returning the worker threads it started."""
    before = set(threading.enumerate())
    pipeline.start()
    return [thread for thread in threading.enumerate() if thread not in before]


def join_workers(workers: list[threading.Thread], timeout: float = 10.0) -> None:
    """After `stop()`: each worker has run what was handed to it and exited."""
    for thread in workers:
        thread.join(timeout)
        assert not thread.is_alive(), f"{thread.name} still running"


def drain(pipeline: Pipeline) -> list[ImportRequest]:
    done: list[ImportRequest] = []
    deadline = time.monotonic() + 10
    while not pipeline.idle and time.monotonic() < deadline:
        pipeline.wait(0.1)
        done += pipeline.completed()
    return done + pipeline.completed()


@pytest.mark.timeout(20)
def test_parallel_across_tables_ordered_within_one() -> None:
    send = Recorder()
    pipeline = Pipeline(send, max_parallel=3, max_in_flight_bytes=10**6)
    pipeline.start()
    for index in range(10):
        for table in ("a", "b", "c"):
            pipeline.submit(request(table, index))
    done = drain(pipeline)
    pipeline.stop()
    assert len(done) == 30
    assert send.overlaps_within_table == 0
    assert send.max_parallel == 3
    for table in ("a", "b", "c"):
        order = [body for body in send.started if body.startswith(table.encode())]
        assert order == [f"{table}:{i}".encode() for i in range(10)]
        acks = [r.body.strip() for r in done if table in r.counts]
        assert acks == order, "one table's acknowledgements arrive in order"


@pytest.mark.timeout(20)
def test_multi_table_request_waits_for_each_of_its_tables() -> None:
    send = Recorder(delay=0.02)
    pipeline = Pipeline(send, max_parallel=4, max_in_flight_bytes=10**6)
    pipeline.start()
    pipeline.submit(request("a", 0))
    pipeline.submit(request("b", 0))
    pipeline.submit(request("a", 1, 10, "b"))
    pipeline.submit(request("b", 2))
    drain(pipeline)
    pipeline.stop()
    assert send.overlaps_within_table == 0
    assert send.started.index(b"a:1") > max(send.started.index(b"a:0"), send.started.index(b"b:0"))
    assert send.started.index(b"b:2") > send.started.index(b"a:1")


@pytest.mark.timeout(20)
def test_submit_blocks_while_too_many_bytes_are_in_flight() -> None:
    gate = threading.Event()
    pipeline = Pipeline(lambda req: gate.wait(5), max_parallel=4, max_in_flight_bytes=250)
    pipeline.start()
    pipeline.submit(request("a", 0, 100))
    pipeline.submit(request("b", 0, 100))
    blocked = threading.Thread(target=pipeline.submit, args=(request("c", 0, 100),))
    blocked.start()
    # A third 100-byte body would exceed 250 bytes in flight: its submit waits. Both outcomes are
    # states, so a slow machine only makes this slower; neither a sleep nor a timeout decides it.
    wait_until(lambda: pipeline.blocked_submits == 1 or not blocked.is_alive(), "the third submit waits or returns")
    assert blocked.is_alive(), "the third submit returned without waiting for room"
    assert pipeline.in_flight_bytes == 200
    assert pipeline.submitted == 2
    gate.set()
    blocked.join(5)
    assert not blocked.is_alive()
    drain(pipeline)
    assert pipeline.peak_bytes <= 250
    pipeline.stop()


@pytest.mark.timeout(20)
def test_failure_stops_starts_and_is_raised() -> None:
    calls: list[bytes] = []

    def send(req: ImportRequest) -> None:
        calls.append(req.body.strip())
        if req.body.startswith(b"a:1"):
            raise ValueError("boom")

    pipeline = Pipeline(send, max_parallel=1, max_in_flight_bytes=10**6)
    workers = start_workers(pipeline)
    pipeline.submit(request("b", 0))
    pipeline.submit(request("a", 0))
    pipeline.submit(request("a", 1))
    pipeline.submit(request("c", 2))  # queued behind a:1 (one worker), never started
    deadline = time.monotonic() + 5
    with pytest.raises(RequestFailed) as caught:
        while time.monotonic() < deadline:
            pipeline.completed()
            pipeline.wait(0.05)
    assert isinstance(caught.value.cause, ValueError)
    assert caught.value.request.body.startswith(b"a:1")
    with pytest.raises(RequestFailed):
        pipeline.submit(request("d", 0))
    pipeline.stop()
    join_workers(workers)  # anything handed to a worker after the failure has been sent by now
    assert calls == [b"b:0", b"a:0", b"a:1"], "nothing starts after a failure"


@pytest.mark.timeout(20)
def test_one_table_holds_at_most_one_queued_request() -> None:
    gate = threading.Event()
    pipeline = Pipeline(lambda req: gate.wait(5), max_parallel=4, max_in_flight_bytes=10**6)
    pipeline.start()
    pipeline.submit(request("a", 0))  # running
    pipeline.submit(request("a", 1))  # queued behind it
    blocked = threading.Thread(target=pipeline.submit, args=(request("a", 2),))
    blocked.start()
    # A second queued request of one table would only hold memory: its submit waits.
    wait_until(lambda: pipeline.blocked_submits == 1 or not blocked.is_alive(), "a:2's submit waits or returns")
    assert blocked.is_alive(), "a:2's submit returned while a:1 was still queued"
    assert pipeline.submitted == 2
    pipeline.submit(request("b", 0))  # other tables are not held up
    assert pipeline.submitted == 3
    gate.set()
    blocked.join(5)
    assert not blocked.is_alive()
    assert len(drain(pipeline)) == 4
    pipeline.stop()

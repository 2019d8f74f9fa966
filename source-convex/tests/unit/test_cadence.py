"""Checkpoints every N pages or T seconds; progress lines at most every T seconds."""

import logging

from source_convex.cadence import Cadence, CheckpointTimer, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_checkpoint_every_n_pages() -> None:
    clock = Clock()
    checkpointer = CheckpointTimer(Cadence(every_pages=3, every_s=1000), clock=clock)
    assert [checkpointer.page_done() for _ in range(7)] == [False, False, True, False, False, True, False]


def test_checkpoint_after_seconds_even_with_few_pages() -> None:
    clock = Clock()
    checkpointer = CheckpointTimer(Cadence(every_pages=1000, every_s=30), clock=clock)
    assert not checkpointer.page_done()
    clock.now = 31
    assert checkpointer.page_done()
    assert not checkpointer.page_done()


def test_reset_restarts_the_counters() -> None:
    checkpointer = CheckpointTimer(Cadence(every_pages=2, every_s=1000), clock=Clock())
    checkpointer.page_done()
    checkpointer.reset()
    assert not checkpointer.page_done()


def test_progress_logs_at_most_every_interval(caplog) -> None:
    clock = Clock()
    logger = logging.getLogger("test.progress")
    progress = Progress(logger, Cadence(progress_every_s=10), clock=clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for second in range(1, 26):
            clock.now = second
            progress.add(100, "snapshot of table users")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "1000 records so far" in lines[0] and "100 records/s" in lines[0] and "snapshot of table users" in lines[0]
    assert progress.records == 2500
    assert "2500 records in 25.0 s (100 records/s)" == progress.summary()

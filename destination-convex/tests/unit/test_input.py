"""Input: lines split across chunks, bad lines skipped and logged without their content."""

import logging
import os
import threading

import orjson
import pytest

from destination_convex.input import IterableSource, LineDecoder, StdinReader

SECRET_LOOKING = b'{"type":"RECORD","record":{"stream":"s","data":{"password":"hunter2"}'


def test_lines_split_across_chunks(caplog: pytest.LogCaptureFixture) -> None:
    decoder = LineDecoder(logging.getLogger("test"))
    lines = [orjson.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"i": i}}}) for i in range(50)]
    stream = b"\n".join(lines) + b"\n"
    messages = []
    for start in range(0, len(stream), 37):
        messages += decoder.feed(stream[start:start + 37])
    messages += decoder.finish()
    assert [m["record"]["data"]["i"] for m in messages] == list(range(50))
    assert decoder.skipped == 0


def test_last_line_without_newline() -> None:
    decoder = LineDecoder(logging.getLogger("test"))
    assert decoder.feed(b'{"type":"STATE","state":{}}') == []
    assert decoder.finish() == [{"type": "STATE", "state": {}}]


def test_bad_lines_are_skipped_and_logged_without_content(caplog: pytest.LogCaptureFixture) -> None:
    decoder = LineDecoder(logging.getLogger("test"))
    with caplog.at_level(logging.INFO):
        messages = decoder.feed(
            b'{"type":"STATE","state":{}}\n' + SECRET_LOOKING + b"\n\n  \n[1,2]\n\xff\xfe\n{\"no\":\"type\"}\n"
            b'{"type":"STATE","state":{"n":2}}\n'
        )
    assert [m["state"] for m in messages] == [{}, {"n": 2}]
    assert decoder.skipped == 4
    text = caplog.text
    assert "hunter2" not in text and "password" not in text
    assert "line 2" in text and "not valid JSON" in text
    assert "line 5" in text and "not an Airbyte message" in text


def test_only_the_first_skips_are_logged_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    decoder = LineDecoder(logging.getLogger("test"))
    with caplog.at_level(logging.INFO):
        decoder.feed(b"nope\n" * 100)
    assert decoder.skipped == 100
    assert len(caplog.records) == 10


@pytest.mark.timeout(10)
def test_stdin_reader_ticks_while_quiet_and_wakes_on_demand() -> None:
    read_fd, write_fd = os.pipe()
    reader = StdinReader(read_fd, logging.getLogger("test"))
    batches = reader.batches(tick_s=0.05)
    os.write(write_fd, b'{"type":"STATE","state":{"a":1}}\n{"type":"ST')
    got = next(batches)
    assert got == [{"type": "STATE", "state": {"a": 1}}]
    assert next(batches) == []  # a tick: nothing more arrived
    threading.Timer(0.01, reader.wake).start()
    assert next(batches) == []
    os.write(write_fd, b'ATE","state":{"b":2}}')
    os.close(write_fd)
    rest = [m for batch in batches for m in batch]
    assert rest == [{"type": "STATE", "state": {"b": 2}}]
    os.close(read_fd)


def test_iterable_source_batches() -> None:
    source = IterableSource(({"type": "STATE", "i": i} for i in range(2500)), batch_size=1000)
    sizes = [len(batch) for batch in source.batches(0.1)]
    assert sizes == [1000, 1000, 500]

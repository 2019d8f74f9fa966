"""Overwrite never empties a table because a source failed: the real source piped into the destination.

Convex A -> `source-convex read` -> `destination-convex write` -> Convex B, as processes. Table
`posts` in B holds 501 old documents; each case checks that B is never emptier than before
unless the source reported the stream COMPLETE.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.timeout(120)

SOURCE = str(Path(sys.executable).parent / "source-convex")
OLD_ROWS = 501
WRONG_KEY = "convex-self-hosted|" + "cd" * 24


def _source_catalog(*names: str) -> dict[str, Any]:
    return {"streams": [{
        "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite",
    } for name in names]}


def _read_source(tmp_path: Path, source: Any, *names: str, key: str | None = None) -> bytes:
    """Everything `source-convex read` prints (the destination's input), whatever its exit code."""
    config, catalog = tmp_path / "source_config.json", tmp_path / "source_catalog.json"
    config.write_text(json.dumps({"deployment_url": source.url, "access_key": key or source.admin_key}))
    catalog.write_text(json.dumps(_source_catalog(*names)))
    proc = subprocess.run([SOURCE, "read", "--config", str(config), "--catalog", str(catalog)],
                          capture_output=True, timeout=60)
    return proc.stdout


def _messages(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith(b"{")]


def _status(message: dict[str, Any]) -> str | None:
    trace = message.get("trace") or {}
    return trace.get("stream_status", {}).get("status") if trace.get("type") == "STREAM_STATUS" else None


@pytest.fixture
def servers(convex_server_factory: Any) -> tuple[Any, Any]:
    source, destination = convex_server_factory(), convex_server_factory()
    source.generate("posts", 300, seed=3)
    for i in range(OLD_ROWS):
        destination.insert("posts", {"old": i})
    return source, destination


def _overwrite(make: Any, *names: str) -> list[dict[str, Any]]:
    return [make.stream(name, mode="overwrite", schema={"type": "object"}) for name in names]


def test_a_source_with_a_wrong_key_leaves_the_table_as_it_was(
    servers: tuple[Any, Any], run_destination: Any, make: Any, tmp_path: Path
) -> None:
    source, destination = servers
    output = _read_source(tmp_path, source, "posts", key=WRONG_KEY)
    assert b"BadAdminKey" in output  # the source failed, as in the report

    result = run_destination(destination, _overwrite(make, "posts"), _messages(output))

    assert len(destination.documents("posts")) == OLD_ROWS
    assert not destination.request_log.entries("clear_tables")
    assert result.returncode != 0
    (error,) = result.errors
    assert error["failure_type"] == "transient_error"
    assert "NOT replaced" in error["message"] and "'posts'" in error["message"]
    assert "INCOMPLETE" in error["message"] and "it sent no records" in error["message"]


def test_a_source_that_fails_half_way_leaves_the_table_as_it_was(
    servers: tuple[Any, Any], run_destination: Any, make: Any, tmp_path: Path
) -> None:
    source, destination = servers
    messages = _messages(_read_source(tmp_path, source, "posts"))
    half = [i for i, m in enumerate(messages) if m["type"] == "RECORD"][150]
    # What the source sends when it fails after 150 records: a STATE, INCOMPLETE, the error.
    failed = messages[:half] + [
        make.stream_state("posts", "half"),
        {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0, "stream_status": {
            "stream_descriptor": {"name": "posts"}, "status": "INCOMPLETE"}}},
        {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1.0, "error": {
            "message": "Reading the snapshot of table posts: failed", "failure_type": "transient_error"}}},
    ]
    result = run_destination(destination, _overwrite(make, "posts"), failed)

    assert len(destination.documents("posts")) == OLD_ROWS
    assert not destination.request_log.entries("import_airbyte_records")
    # Only the source's started state (sent before any record) goes out: none claims a record.
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [0.0]
    assert all(s["stream"]["stream_state"] != {"cursor": "half"} for s in result.states)
    (error,) = result.errors
    assert "its 150 records were not written" in error["message"]

    # A source process that dies half-way (no terminal status at all) is treated the same.
    crashed = messages[:half]
    assert any(_status(m) == "RUNNING" for m in crashed)
    result = run_destination(destination, _overwrite(make, "posts"), crashed)
    assert len(destination.documents("posts")) == OLD_ROWS
    assert "before the source reported the stream COMPLETE" in result.errors[0]["message"]


def test_a_source_process_killed_half_way_leaves_the_table_as_it_was(
    servers: tuple[Any, Any], make: Any, tmp_path: Path
) -> None:
    """Real processes: the source's stdout relayed into the destination's stdin, the source SIGKILLed
    after 150 records have been relayed, then the destination's input closed."""
    source, destination = servers
    config, catalog = tmp_path / "source_config.json", tmp_path / "source_catalog.json"
    config.write_text(json.dumps({"deployment_url": source.url, "access_key": source.admin_key}))
    catalog.write_text(json.dumps(_source_catalog("posts")))
    dest_config, dest_catalog = make.write_files(tmp_path, destination, _overwrite(make, "posts"), None, {})
    reader = subprocess.Popen([SOURCE, "read", "--config", str(config), "--catalog", str(catalog)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    writer = subprocess.Popen([make.script, "write", "--config", str(dest_config), "--catalog", str(dest_catalog)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert reader.stdout is not None and writer.stdin is not None
    relayed = 0
    for line in reader.stdout:
        writer.stdin.write(line)
        relayed += line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"')
        if relayed == 150:
            reader.kill()
            break
    reader.wait(timeout=30)
    writer.stdin.close()
    assert writer.stdout is not None
    output = writer.stdout.read()
    writer.wait(timeout=60)

    assert relayed == 150
    assert len(destination.documents("posts")) == OLD_ROWS
    errors = [m["trace"]["error"] for m in _messages(output) if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert writer.returncode != 0 and "its 150 records were not written" in errors[0]["message"]


def test_a_complete_stream_replaces_the_table_and_its_state_follows(
    servers: tuple[Any, Any], run_destination: Any, make: Any, tmp_path: Path
) -> None:
    source, destination = servers
    destination.insert("users", {"kept": True})
    source.generate("users", 20, seed=4)
    messages = _messages(_read_source(tmp_path, source, "posts", "users"))
    assert [_status(m) for m in messages if _status(m) in ("COMPLETE", "INCOMPLETE")] == ["COMPLETE"] * 2

    streams = _overwrite(make, "posts") + [make.stream("users", schema={"type": "object"})]  # users: append
    result = run_destination(destination, streams, messages)

    assert result.returncode == 0, result.stdout[-2000:]
    posts = destination.documents("posts")
    assert len(posts) == 300 and all("old" not in doc for doc in posts)
    assert len(destination.documents("users")) == 21
    assert [entry.params["tableNames"] for entry in destination.request_log.entries("clear_tables")] == [["posts"]]
    assert result.states and result.errors == []
    assert "Stream 'posts' is complete: clearing the Convex table 'posts' and writing its 300 records" in result.logs


def test_an_empty_source_that_completed_empties_the_table(
    servers: tuple[Any, Any], run_destination: Any, make: Any, tmp_path: Path
) -> None:
    source, destination = servers
    source.create_table("drafts")
    for i in range(7):
        destination.insert("drafts", {"old": i})
    messages = _messages(_read_source(tmp_path, source, "drafts"))
    assert not [m for m in messages if m["type"] == "RECORD"] and any(_status(m) == "COMPLETE" for m in messages)

    result = run_destination(destination, _overwrite(make, "drafts"), messages)

    assert result.returncode == 0, result.stdout[-2000:]
    assert destination.documents("drafts") == []
    assert "completed with no records, so the table is now empty" in result.logs


def test_a_source_without_stream_statuses_replaces_at_end_of_input_only_with_records(
    servers: tuple[Any, Any], run_destination: Any, make: Any
) -> None:
    _, destination = servers
    # No STREAM_STATUS at all (an older source): nothing sent -> nothing cleared, and no error.
    result = run_destination(destination, _overwrite(make, "posts"), [make.global_state(1)])
    assert result.returncode == 0 and result.errors == []
    assert len(destination.documents("posts")) == OLD_ROWS
    assert "was left as it was" in result.logs

    records = [make.record("posts", {"new": i}) for i in range(3)]
    result = run_destination(destination, _overwrite(make, "posts"), [*records, make.global_state(2)])
    assert result.returncode == 0
    assert sorted(doc["new"] for doc in destination.documents("posts")) == [0.0, 1.0, 2.0]
    assert [s["destinationStats"]["recordCount"] for s in result.states] == [3.0]


def test_a_truncate_refresh_waits_for_complete_too_and_a_merge_refresh_never_clears(
    servers: tuple[Any, Any], run_destination: Any, make: Any, tmp_path: Path
) -> None:
    source, destination = servers
    messages = _messages(_read_source(tmp_path, source, "posts"))
    truncate = make.stream("posts", mode="append_dedup", primary_key=[["_id"]], schema={"type": "object"},
                           generation_id=3, minimum_generation_id=3)
    no_complete = [m for m in messages if _status(m) != "COMPLETE"]
    run_destination(destination, [truncate], no_complete)
    assert len(destination.documents("posts")) == OLD_ROWS

    result = run_destination(destination, [truncate], messages)
    assert result.returncode == 0, result.stdout[-2000:]
    assert len(destination.documents("posts")) == 300

    merge = make.stream("posts", schema={"type": "object"}, generation_id=4, minimum_generation_id=0)
    result = run_destination(destination, [merge], messages)
    assert result.returncode == 0
    assert len(destination.documents("posts")) == 600
    assert len(destination.request_log.entries("clear_tables")) == 1

"""The console script writes a page of records at a time (`RecordBatch`, `entrypoint._read_lines`); the CDK's
own read loop gets the same read one `AirbyteMessage` at a time (`SourceConvex.read`). Both must say the
same thing: the same records in the same order, states in the same places with the same `sourceStats`,
for a snapshot of several pages and streams (one in a component) and for the change log after it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
)
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, last_states, read, run_process

pytestmark = pytest.mark.timeout(120)

EXE = Path(sys.executable).with_name("source-convex")

#: ("RECORD", (namespace, stream, data)) and ("STATE", (stream, recordCount)), in output order.
Summary = list[tuple[str, Any]]


def _summary(messages: list[dict[str, Any]]) -> Summary:
    """RECORD data with top-level nulls dropped (the CDK's serialiser drops them: the console script
    keeps them, see test_subprocess) and each STATE's stream and record count, in output order."""
    out: Summary = []
    for message in messages:
        if message["type"] == "RECORD":
            record = message["record"]
            data = {key: value for key, value in record["data"].items() if value is not None}
            out.append(("RECORD", (record.get("namespace"), record["stream"], data)))
        elif message["type"] == "STATE":
            state = message["state"]
            out.append(("STATE", (state["stream"]["stream_descriptor"]["name"], state["sourceStats"]["recordCount"])))
    return out


def _as_json(messages: list[AirbyteMessage]) -> list[dict[str, Any]]:
    return [AirbyteMessageSerializer.dump(message) for message in messages]


def _console_read(
    tmp_path: Path, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, state: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    files: dict[str, object] = {"config": config, "catalog": ConfiguredAirbyteCatalogSerializer.dump(catalog)}
    if state is not None:
        files["state"] = state
    code, messages, output = run_process([str(EXE), "read"], tmp_path, timeout_s=100, **files)
    assert code == 0, output[-3000:]
    assert config["access_key"] not in output
    return messages


def _saved(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The state file the platform would pass to the next sync."""
    states = [AirbyteMessageSerializer.load(m) for m in messages if m["type"] == "STATE"]
    return [AirbyteStateMessageSerializer.dump(state) for state in last_states(states)]


def test_the_console_script_says_what_the_cdks_loop_says(convex_server: LocalDeployment, tmp_path: Path) -> None:
    convex_server.generate("users", 2_500, seed=1)  # three snapshot pages
    with_null = convex_server.insert("users", {"name": "has a null", "gone": None})
    convex_server.generate("posts", 40, seed=2, component="blog")
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config))

    console = _console_read(tmp_path, config, catalog, None)
    cdk = read(config, catalog)
    first = _summary(console)
    assert first == _summary(_as_json(cdk.records_and_state_messages))
    assert sum(kind == "RECORD" for kind, _ in first) == 2_541
    counted: dict[str, float] = {}  # every record is counted on a later state of its stream, once
    for kind, value in first:
        if kind == "STATE":
            counted[value[0]] = counted.get(value[0], 0) + value[1]
    assert counted == {"users": 2_501, "posts": 40}
    (kept,) = [m["record"]["data"] for m in console if m["type"] == "RECORD" and m["record"]["data"]["_id"] == with_null]
    assert kept["gone"] is None and kept["_ab_cdc_deleted_at"] is None

    # The change log after it: an update, a delete and inserts, of both streams, interleaved.
    users = [row["_id"] for row in convex_server.documents("users")]
    with convex_server.transaction() as tx:
        tx.patch(users[0], {"name": "renamed"})
        tx.insert("posts", {"title": "new"}, component="blog")
        tx.delete(users[1])
    convex_server.insert("users", {"name": "late"})
    again = _summary(_console_read(tmp_path, config, catalog, _saved(console)))
    cdk_again = read(config, catalog, last_states(cdk.state_messages))
    assert again == _summary(_as_json(cdk_again.records_and_state_messages))
    assert [value[2]["_deleted"] for kind, value in again if kind == "RECORD"].count(True) == 1
    assert sum(kind == "RECORD" for kind, _ in again) == 4
    assert {value[1] for kind, value in again if kind == "RECORD"} == {"users", "posts"}

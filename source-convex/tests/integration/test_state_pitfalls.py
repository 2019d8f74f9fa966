"""Saved states that would silently re-read or skip data are refused, by the `source-convex` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for

pytestmark = pytest.mark.timeout(60)

EXE = Path(sys.executable).with_name("source-convex")
DAY = 86_400 * 10**9


def _read(dep: LocalDeployment, tmp_path: Path, state: Any) -> tuple[int, list[dict[str, Any]], str]:
    files = {"config": config_for(dep), "state": state, "catalog": {"streams": [{
        "stream": {"name": "users", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": "incremental", "destination_sync_mode": "append", "cursor_field": ["_ts"]}]}}
    argv = [str(EXE), "read"]
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
        argv += [f"--{name}", str(tmp_path / f"{name}.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=50)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")], proc.stdout


def _stream_state(blob: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": blob}}]


@pytest.mark.parametrize(("state", "says"), [
    (_stream_state({"cursor": "2024-05-01T00:00:00Z"}), "keys this connector never writes"),
    ({"cursor": "2024-05-01T00:00:00Z"}, "are not per-stream states"),
    ([{"foo": 1}], "entry 0 of the list is not a STREAM, GLOBAL or LEGACY state message"),
    ("a string", "it is a JSON str"),
    ("future", "days in the future"),
    (_stream_state({"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 2**64}),
     "beyond the largest timestamp Convex uses"),
])
def test_state_pitfalls_are_config_errors(convex_server: LocalDeployment, tmp_path: Path, state: Any,
                                          says: str) -> None:
    convex_server.generate("users", 3, seed=1)
    if state == "future":
        ahead = convex_server.clock.now_ns() + 3 * DAY
        state = _stream_state({"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": ahead})
    code, messages, output = _read(convex_server, tmp_path, state)
    assert code != 0, output
    assert not [m for m in messages if m["type"] == "RECORD"], "nothing is read from a state that cannot be trusted"
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert errors and errors[-1]["failure_type"] == "config_error", output[-2000:]
    assert says in errors[-1]["message"] and "a bug" not in errors[-1]["message"]

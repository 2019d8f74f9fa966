"""`check` against a host that never answers fails in seconds; a tables setting that matches nothing is an error."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for

pytestmark = pytest.mark.timeout(90)

EXE = Path(sys.executable).with_name("source-convex")
KEY = "convex-self-hosted|" + "ef" * 24


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A port whose kernel completes the TCP handshake (listen backlog) but no one ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def _run(tmp_path: Path, command: str, config: dict[str, Any]) -> tuple[int, list[dict[str, Any]], float]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    started = time.monotonic()
    proc = subprocess.run([str(EXE), command, "--config", str(path)], capture_output=True, text=True, timeout=80)
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, messages, time.monotonic() - started


def test_check_against_a_host_that_never_answers_fails_within_seconds(silent_host: str, tmp_path: Path) -> None:
    code, messages, elapsed = _run(tmp_path, "check", {"deployment_url": silent_host, "access_key": KEY})
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED" and "did not answer within 15 s. A check waits no longer" in status["message"]
    assert elapsed < 45, f"check took {elapsed:.0f} s"


def test_discover_with_only_mistyped_tables_is_an_error_with_a_suggestion(
    convex_server: LocalDeployment, tmp_path: Path
) -> None:
    convex_server.generate("users", 2, seed=1)
    convex_server.generate("posts", 2, seed=2)
    code, messages, _ = _run(tmp_path, "discover", config_for(convex_server, tables=["user", "Posts"]))
    assert code != 0
    assert not [m for m in messages if m["type"] == "CATALOG"]
    (error,) = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert error["failure_type"] == "config_error"
    assert "user (did you mean users?)" in error["message"] and "Posts (did you mean posts?)" in error["message"]

    code, messages, _ = _run(tmp_path, "check", config_for(convex_server, tables=["user"]))
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED" and "did you mean users?" in status["message"]

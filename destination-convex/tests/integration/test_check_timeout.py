"""`check` against a host that accepts connections but never answers fails in seconds, not minutes."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest


@pytest.mark.timeout(90)
def test_check_against_a_host_that_never_answers_fails_within_seconds(run_check: Any) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        silent = type("Silent", (), {"url": f"http://127.0.0.1:{listener.getsockname()[1]}",
                                     "admin_key": "convex-self-hosted|" + "ef" * 24})()
        started = time.monotonic()
        result = run_check(silent)
        elapsed = time.monotonic() - started
    (status,) = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED" and "did not answer within 15 s. A check waits no longer" in status["message"]
    assert elapsed < 60, f"check took {elapsed:.0f} s"

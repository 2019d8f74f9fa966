"""`quick_exit`: what an ordinary exit does that anyone can see (atexit handlers, flushed output, the exit
code) still happens; a non-daemon thread that is still working is waited for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from convex_shared.quick_exit import quick_exit
marker = sys.argv[1]
atexit.register(lambda: open(marker, "a").write("atexit ran\\n"))
sys.stdout.write("buffered, no newline")  # still in the text buffer when quick_exit is called
if sys.argv[2] == "worker":
    def work() -> None:
        time.sleep(0.3)
        open(marker, "a").write("worker finished\\n")
    threading.Thread(target=work, daemon=False).start()
quick_exit(3)
"""


def _run(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess[str], str]:
    marker = tmp_path / f"marker-{mode}.txt"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(marker), mode], capture_output=True, text=True,
                          timeout=30)
    return proc, marker.read_text() if marker.exists() else ""


def test_exit_code_output_and_atexit_handlers_survive(tmp_path: Path) -> None:
    proc, marker = _run(tmp_path, "alone")
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"
    assert marker == "atexit ran\n"


def test_a_working_non_daemon_thread_is_waited_for(tmp_path: Path) -> None:
    proc, marker = _run(tmp_path, "worker")
    assert proc.returncode == 3
    assert proc.stdout == "buffered, no newline"
    assert marker.splitlines() == ["worker finished", "atexit ran"]

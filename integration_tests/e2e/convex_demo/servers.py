"""Local Convex-compatible deployments as separate processes (`python -m convex_local serve`).

Each server is started with an ephemeral port and in-memory data, prints one JSON line with its
URL and keys, and is stopped with SIGTERM (then SIGKILL) when the `with` block ends, whatever
ends it. On Linux the server also gets SIGTERM from the kernel if this process dies first, so
not even a killed demo leaves a server behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Optional, Sequence

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class ServerError(RuntimeError):
    """A local server did not start, or answered its start-up line with something unexpected."""


@dataclass(frozen=True)
class ServerInfo:
    """Where a started server listens and the keys it accepts (never printed)."""

    url: str
    admin_key: str
    read_only_key: str

    def __repr__(self) -> str:  # keys stay out of every repr and traceback
        return f"ServerInfo(url={self.url!r})"


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when its parent exits (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


class LocalServer:
    """One `convex_local serve` process; use it as a context manager."""

    def __init__(
        self,
        name: str,
        log_path: Path,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.name = name
        self._log_path = log_path
        self._command = [python, "-m", "convex_local", "serve", "--port", "0", "--data", ":memory:", *extra_args]
        self._process: Optional[subprocess.Popen[str]] = None
        self._log: Optional[IO[str]] = None
        self.info: Optional[ServerInfo] = None

    def __enter__(self) -> ServerInfo:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> ServerInfo:
        self._log = open(self._log_path, "w", encoding="utf-8")
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL, text=True,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        line = _read_line(self._process, START_TIMEOUT_S)
        if not line:
            self.stop()
            raise ServerError(f"server {self.name} exited or printed nothing within {START_TIMEOUT_S:g} s; "
                              f"see {self._log_path}")
        try:
            started = json.loads(line)
            self.info = ServerInfo(started["url"], started["admin_key"], started["read_only_key"])
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise ServerError(f"server {self.name} printed an unexpected start-up line; see {self._log_path}") from None
        return self.info

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


def _read_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The first stdout line of `process`, or "" if it exits or stays silent for `timeout_s`."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline() if process.stdout else ""),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    while reader.is_alive() and time.monotonic() < deadline:
        reader.join(0.05)
        if process.poll() is not None and not reader.is_alive():
            break
    return box[0].strip() if box else ""

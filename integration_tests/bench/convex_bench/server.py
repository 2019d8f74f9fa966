"""The local Convex-compatible deployment as its own process, for the duration of a scenario.

The server must not share a GIL with the connector under test or with this harness, so it
runs as `python -m convex_local serve` on a SQLite file. Data is written into that file
in-process BEFORE the server opens it (see `datasets`): seeding over HTTP would cost more
than the benchmarks themselves. The file keeps the keys, so a stopped and restarted server
answers to the same ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from convex_local.control import ControlClient

STARTUP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Endpoint:
    """Where a running deployment answers, and the key that may export and import."""

    url: str
    admin_key: str


class ServerProcess:
    """`convex_local serve --data <file>` in a child process; a context manager."""

    def __init__(self, data: Path, python: str = sys.executable) -> None:
        self._data = data
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self.endpoint: Endpoint | None = None
        self.control: ControlClient | None = None

    def __repr__(self) -> str:
        return f"ServerProcess(data={self._data.name!r})"

    def start(self) -> "ServerProcess":
        self._proc = subprocess.Popen(
            [self._python, "-m", "convex_local", "serve", "--port", "0", "--data", str(self._data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait(timeout=STARTUP_TIMEOUT_S)
            raise RuntimeError(f"the local server exited with code {code} before printing its address")
        info = json.loads(line)
        self.endpoint = Endpoint(info["url"], info["admin_key"])
        self.control = ControlClient(info["url"], info["admin_key"], timeout_s=600)
        return self

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- what the benchmarks ask of a running server -------------------------------------------

    @property
    def ctl(self) -> ControlClient:
        if self.control is None:
            raise RuntimeError("the server is not running")
        return self.control

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        assert self._proc is not None
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def set_latency(self, seconds: float) -> None:
        self.ctl.update_settings(latency_s=seconds)

    def clear_request_log(self) -> None:
        self.ctl.clear_request_log()

    def requests_by_route(self) -> Counter[str]:
        """Requests answered since the log was last cleared, by route (`list_snapshot`: 196)."""
        entries: list[dict[str, Any]] = self.ctl.request_log()
        return Counter(entry["route"].rstrip("/").rsplit("/", 1)[-1] for entry in entries)

    def request_bytes_in(self, route: str) -> list[int]:
        """Body sizes of the requests to `route` since the log was last cleared."""
        return [entry["bytes_in"] for entry in self.ctl.request_log(route)]

    def warm_schemas(self) -> None:
        """Ask json_schemas once so the server infers (and caches) every table's shape.

        A connection is discovered before it is read, so a real read never pays for shape
        inference; without this the first contender would pay for it alone.
        """
        import requests

        assert self.endpoint is not None
        resp = requests.get(
            f"{self.endpoint.url}/api/json_schemas",
            params={"deltaSchema": "true", "byComponent": "true", "format": "json"},
            headers={"Authorization": f"Convex {self.endpoint.admin_key}"},
            timeout=600,
        )
        resp.raise_for_status()

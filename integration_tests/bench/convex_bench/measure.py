"""Run one contender as a child process and measure it: wall time, peak RSS, records, states.

Each contender is its own child, spawned and waited for (`os.wait4`) by a tiny launcher (see
`launch.py` for why), so `ru_maxrss` is that contender's own peak (a connector's console
script is the Python process itself, not a wrapper). Wall time runs from spawn to exit:
interpreter start and imports are part of what a sync costs.
Stdout is read here line by line; only RECORD lines are counted (both the CDK 7 spelling
`{"type":"RECORD"` and the CDK 0.x one `{"type": "RECORD"`), STATE lines are decoded so a
scenario can feed the last state of each stream into the next sync, and a few other lines
are kept to explain a failure.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Sequence

import orjson

_RECORD_PREFIXES = (b'{"type":"RECORD"', b'{"type": "RECORD"')
_STATE_PREFIXES = (b'{"type":"STATE"', b'{"type": "STATE"')
_KEPT_LINES = 20
_LAUNCHER = Path(__file__).resolve().with_name("launch.py")


class ContenderFailed(RuntimeError):
    """A contender exited with an error or produced the wrong number of records."""


@dataclass
class ChildResult:
    """What one run of one contender cost and produced."""

    wall_s: float
    #: User + system CPU seconds of the contender's process (all its threads).
    cpu_s: float
    peak_rss_mib: float
    records: int
    exit_code: int
    #: The last STATE message seen per stream (name, namespace) -> its stream_state blob.
    states: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    #: Non-record lines kept for diagnostics (never printed unless the run failed).
    tail: list[str] = field(default_factory=list)
    #: Extra figures a floor reports about itself on stdout (`{"type":"FLOOR",...}`).
    floor: dict[str, Any] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float:
        return self.records / self.wall_s if self.wall_s > 0 else 0.0


def _stream_state(message: dict[str, Any]) -> tuple[tuple[str, str | None], Any] | None:
    state = message.get("state") or {}
    stream = state.get("stream")
    if not stream:
        return None
    descriptor = stream.get("stream_descriptor") or {}
    return (descriptor.get("name"), descriptor.get("namespace")), stream.get("stream_state")


def run_child(argv: Sequence[str], *, stdin: Path | None = None, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> ChildResult:
    """Run `argv` to completion, reading its stdout; never raises for a non-zero exit."""
    stdin_file: IO[bytes] | None = open(stdin, "rb") if stdin is not None else None
    records = 0
    states: dict[tuple[str, str | None], Any] = {}
    tail: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
    floor: dict[str, Any] = {}
    fd, result_path = tempfile.mkstemp(prefix="bench-launch-", suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-S", str(_LAUNCHER), result_path, *argv],
            stdin=stdin_file if stdin_file is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            bufsize=1 << 20,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_RECORD_PREFIXES):
                records += 1
            elif line.startswith(_STATE_PREFIXES):
                found = _stream_state(orjson.loads(line))
                if found is not None:
                    states[found[0]] = found[1]
            elif line.startswith(b'{"type":"FLOOR"'):
                floor = orjson.loads(line)
                records += int(floor.get("records", 0))
            else:
                tail.append(line[:2000].decode("utf-8", "replace").rstrip())
        if proc.wait() != 0:
            raise RuntimeError(f"the launcher failed (exit code {proc.returncode}): {list(tail)[-3:]}")
        with open(result_path) as result_file:
            launched = json.load(result_file)
    finally:
        os.unlink(result_path)
        if stdin_file is not None:
            stdin_file.close()
    return ChildResult(
        wall_s=launched["wall_s"],
        cpu_s=launched["cpu_s"],
        peak_rss_mib=launched["maxrss_kib"] / 1024.0,  # KiB on Linux
        records=records,
        exit_code=launched["exit_code"],
        states=states,
        tail=list(tail),
        floor=floor,
    )


def check(result: ChildResult, who: str, expected_records: int | None, secret: str = "") -> None:
    """Raise ContenderFailed unless the run exited 0 with the expected record count.

    The kept lines go into the message with `secret` (the deployment key) masked.
    """
    problem = None
    if result.exit_code != 0:
        problem = f"exited with code {result.exit_code}"
    elif expected_records is not None and result.records != expected_records:
        problem = f"emitted {result.records} records, expected {expected_records}"
    if problem:
        details = "\n    ".join(result.tail[-10:])
        if secret:
            details = details.replace(secret, "****")
        raise ContenderFailed(f"{who} {problem}. Last lines:\n    {details}")

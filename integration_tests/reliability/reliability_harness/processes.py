"""Run the connectors as the platform does: console scripts in their own processes.

Every run is bounded in time (a hang fails the test instead of stalling the suite), its
stdout and stderr are scanned for access keys, and its output is parsed into messages.
Processes are started in their own session so a timeout can kill exactly what we started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .messages import Output
from .secrets_guard import GUARD

BIN = Path(sys.executable).parent
SOURCE = str(BIN / "source-convex")
DESTINATION = str(BIN / "destination-convex")
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Run:
    """One finished connector process."""

    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    elapsed_s: float
    timed_out: bool
    output: Output

    @property
    def name(self) -> str:
        return " ".join(Path(self.argv[0]).name.split() + self.argv[1:2])

    def describe(self, tail: int = 1500) -> str:
        """Exit code, errors and the end of stderr, for assertion messages (keys already scanned)."""
        errors = "; ".join(str(e.get("message")) for e in self.output.errors) or "none"
        return (f"`{self.name}` exit={self.exit_code} timed_out={self.timed_out} in {self.elapsed_s:.1f}s; "
                f"ERROR traces: {errors}; stderr tail: {self.stderr[-tail:]!r}; noise: {self.output.noise[-5:]!r}")


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process we started (and anything it started: it leads its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def scan(run_name: str, stdout: str, stderr: str) -> None:
    GUARD.check(stdout, f"stdout of {run_name}")
    GUARD.check(stderr, f"stderr of {run_name}")


def run_connector(
    argv: Sequence[str], *, stdin: Optional[bytes] = None, timeout_s: float = 120.0,
    env: Optional[dict[str, str]] = None,
) -> Run:
    """Run one connector command to its end (or kill it at `timeout_s`)."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env,
    )
    timed_out = False
    try:
        out, err = process.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(process)
        out, err = process.communicate()
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    run = Run(list(argv), process.returncode, stdout, stderr, time.monotonic() - started, timed_out,
              Output.parse(stdout))
    scan(run.name, stdout, stderr)
    return run


def source_read(config: str, catalog: str, state: Optional[str] = None, *, timeout_s: float = 120.0,
                debug: bool = False) -> Run:
    argv = [SOURCE, "read", "--config", config, "--catalog", catalog]
    if state is not None:
        argv += ["--state", state]
    if debug:
        argv.append("--debug")
    return run_connector(argv, timeout_s=timeout_s)


def destination_write(config: str, catalog: str, stdin: bytes, *, timeout_s: float = 120.0) -> Run:
    return run_connector([DESTINATION, "write", "--config", config, "--catalog", catalog], stdin=stdin,
                         timeout_s=timeout_s)


def records_and_states(run: Run) -> bytes:
    """What the platform forwards from a source to a destination: RECORD and STATE lines."""
    lines = [json.dumps(m) for m in run.output.messages if m["type"] in ("RECORD", "STATE")]
    return ("\n".join(lines) + "\n").encode()


def assert_clean_failure(run: Run, *, within_s: Optional[float] = None) -> dict[str, Any]:
    """A failed run that ended the way users deserve: non-zero exit, exactly one classified ERROR
    trace with an explanation, no STATE after it, no bare traceback, no hang. Returns the error."""
    assert not run.timed_out, f"hung: {run.describe()}"
    if within_s is not None:
        assert run.elapsed_s <= within_s, f"took {run.elapsed_s:.1f}s (bound {within_s}s): {run.describe()}"
    assert run.exit_code != 0, f"failed without a non-zero exit: {run.describe()}"
    errors = run.output.errors
    assert len(errors) == 1, f"expected one ERROR trace, got {len(errors)}: {run.describe()}"
    error = errors[0]
    assert error.get("failure_type") in ("config_error", "transient_error", "system_error"), run.describe()
    message = error.get("message") or ""
    assert len(message) >= 20 and "Something went wrong in the connector" not in message, (
        f"the ERROR trace has no explanation of its own: {run.describe()}")
    assert not run.output.states_after_first_error(), f"STATE after the ERROR trace: {run.describe()}"
    assert TRACEBACK not in run.stderr, f"bare traceback on stderr: {run.describe()}"
    assert not any(TRACEBACK in line for line in run.output.noise), f"bare traceback on stdout: {run.describe()}"
    return error


def assert_success(run: Run) -> None:
    assert not run.timed_out and run.exit_code == 0 and not run.output.errors, run.describe()
    assert TRACEBACK not in run.stderr and not run.output.noise, run.describe()

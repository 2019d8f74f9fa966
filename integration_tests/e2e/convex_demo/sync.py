"""One sync as Airbyte runs it: `source-convex read | destination-convex write`, between processes.

Like the platform, the relay passes RECORD and STATE messages from the source to the destination
and keeps the rest (logs, traces) for itself; it counts the records and deletes of each stream on
the way. The state saved for the next sync is made of the STATE messages the DESTINATION emits,
since those are the ones whose records are committed: the latest one per stream.

Both processes are bounded by a deadline; on any failure both are killed. Their messages other
than records and states go to `<sync>.source.log` / `<sync>.destination.log`, their stderr to
`<sync>.*.stderr` (the connectors mask the access key in everything they print).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Optional

import orjson

BIN = Path(sys.executable).parent
SOURCE = BIN / "source-convex"
DESTINATION = BIN / "destination-convex"

StreamKey = tuple[Optional[str], str]  # (namespace, name)


class SyncError(RuntimeError):
    """A connector failed or the sync ran past its deadline; the message says which and why."""


@dataclass
class SyncResult:
    """What one sync moved, and the state to continue from."""

    records: dict[StreamKey, int] = field(default_factory=dict)
    deletes: dict[StreamKey, int] = field(default_factory=dict)
    states: dict[StreamKey, dict[str, Any]] = field(default_factory=dict)  # committed, latest per stream
    seconds: float = 0.0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def _stream_key(descriptor: dict[str, Any]) -> StreamKey:
    return (descriptor.get("namespace"), descriptor["name"])


def _errors(message: dict[str, Any]) -> Optional[str]:
    trace = message.get("trace") or {}
    error = trace.get("error") if trace.get("type") == "ERROR" else None
    return str(error.get("message")) if error else None


class _Relay(threading.Thread):
    """Source stdout -> (count) -> destination stdin; keeps source logs and errors."""

    def __init__(self, source_out: IO[bytes], destination_in: IO[bytes], log: IO[str], result: SyncResult) -> None:
        super().__init__(name="relay", daemon=True)
        self._in, self._out, self._log, self._result = source_out, destination_in, log, result
        self.errors: list[str] = []
        self.failure: Optional[BaseException] = None

    def run(self) -> None:
        try:
            records, deletes = self._result.records, self._result.deletes
            for line in self._in:
                if not line.strip():
                    continue
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self._log.write(line.decode("utf-8", "replace"))
                    continue
                kind = message.get("type")
                if kind == "RECORD":
                    record = message["record"]
                    key = (record.get("namespace"), record["stream"])
                    records[key] = records.get(key, 0) + 1
                    if record["data"].get("_ab_cdc_deleted_at") is not None:
                        deletes[key] = deletes.get(key, 0) + 1
                    self._out.write(line)
                elif kind == "STATE":
                    self._out.write(line)
                else:
                    error = _errors(message)
                    if error:
                        self.errors.append(error)
                    self._log.write(line.decode("utf-8", "replace"))
        except BrokenPipeError:
            self.failure = SyncError("the destination stopped reading its input (it failed; see its errors)")
        except BaseException as exc:  # re-raised by the main thread
            self.failure = exc
        finally:
            try:
                self._out.close()
            except BrokenPipeError:
                pass


def run_sync(
    work: Path,
    name: str,
    source_config: Path,
    destination_config: Path,
    catalog: Path,
    state: Optional[Path],
    deadline: float,
) -> SyncResult:
    """Run one sync; raises SyncError with the connectors' own error messages on failure."""
    result = SyncResult()
    source_cmd = [str(SOURCE), "read", "--config", str(source_config), "--catalog", str(catalog)]
    if state is not None:
        source_cmd += ["--state", str(state)]
    destination_cmd = [str(DESTINATION), "write", "--config", str(destination_config), "--catalog", str(catalog)]
    started = time.monotonic()
    with open(work / f"{name}.source.log", "w", encoding="utf-8") as source_log, \
            open(work / f"{name}.destination.log", "w", encoding="utf-8") as destination_log, \
            open(work / f"{name}.source.stderr", "wb") as source_stderr, \
            open(work / f"{name}.destination.stderr", "wb") as destination_stderr:
        source = subprocess.Popen(source_cmd, stdout=subprocess.PIPE, stderr=source_stderr, stdin=subprocess.DEVNULL)
        destination = subprocess.Popen(destination_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=destination_stderr)
        assert source.stdout is not None and destination.stdin is not None and destination.stdout is not None
        relay = _Relay(source.stdout, destination.stdin, source_log, result)
        relay.start()
        destination_errors: list[str] = []
        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.1), lambda: (source.kill(), destination.kill()))
        watchdog.start()
        try:
            for line in destination.stdout:
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError:
                    destination_log.write(line.decode("utf-8", "replace"))
                    continue
                if message.get("type") == "STATE":
                    state_message = message["state"]
                    if state_message.get("type") == "STREAM":
                        result.states[_stream_key(state_message["stream"]["stream_descriptor"])] = state_message
                    else:
                        raise SyncError(f"the destination emitted a {state_message.get('type')} state; "
                                        "this source only writes per-stream states")
                else:
                    error = _errors(message)
                    if error:
                        destination_errors.append(error)
                    destination_log.write(line.decode("utf-8", "replace"))
            relay.join(max(deadline - time.monotonic(), 0.1))
            source_code = source.wait(max(deadline - time.monotonic(), 0.1))
            destination_code = destination.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            raise SyncError(f"{name}: the sync did not finish before the demo's deadline") from None
        finally:
            watchdog.cancel()
            for process in (source, destination):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        result.seconds = time.monotonic() - started
        if time.monotonic() >= deadline:
            raise SyncError(f"{name}: the sync did not finish before the demo's deadline (the connectors were stopped)")
        if relay.failure is not None and not isinstance(relay.failure, SyncError):
            raise relay.failure
        problems = []
        if source_code != 0 or relay.errors:
            problems.append(f"source-convex exited with {source_code}: " + " | ".join(relay.errors or ["no error message"]))
        if destination_code != 0 or destination_errors:
            problems.append(f"destination-convex exited with {destination_code}: "
                            + " | ".join(destination_errors or ["no error message"]))
        if problems:
            raise SyncError(f"{name} failed. " + " ".join(problems))
    return result


def write_state(path: Path, states: dict[StreamKey, dict[str, Any]]) -> None:
    """The committed per-stream states as the state file `read --state` takes (a list of states)."""
    saved = [{key: value for key, value in state.items() if key not in ("sourceStats", "destinationStats")}
             for state in states.values()]
    path.write_text(json.dumps(saved, indent=1) + "\n")

"""source | destination, as the platform runs a sync, with crashes at chosen points.

One attempt starts `source-convex read` (with the committed state) and `destination-convex
write`, forwards the source's RECORD and STATE lines to the destination's stdin (the platform
keeps LOG and TRACE lines for itself), and may SIGKILL one of them after a given number of
forwarded lines:

- source killed: everything it wrote before dying is forwarded, the destination's input then
  ends and it must finish cleanly, emitting every STATE it received (so the next attempt
  resumes from the last STATE the source emitted, confirmed by the destination);
- destination killed: the platform tears the sync down (the source is killed too) and the
  next attempt resumes from the last STATE the DESTINATION emitted: source state counts only
  once the destination has confirmed it.

The committed state is the latest destination-confirmed STATE per stream, accumulated over
attempts. Every attempt is bounded in time and its output scanned for keys.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .messages import Output, StreamKey, state_input, stream_key, stream_state, update_latest
from .processes import DESTINATION, SOURCE, TRACEBACK, kill_group, scan, write_json

KILLED = -9


@dataclass
class Attempt:
    """What one attempt did."""

    number: int
    kill: str  # "none" | "source" | "destination"
    at_line: Optional[int]
    killed: bool = False
    forwarded: int = 0
    source_exit: Optional[int] = None
    destination_exit: Optional[int] = None
    source: Output = field(default_factory=Output)
    destination: Output = field(default_factory=Output)
    forwarded_states: list[dict[str, Any]] = field(default_factory=list)
    source_stderr: str = ""
    destination_stderr: str = ""
    elapsed_s: float = 0.0
    hung: bool = False

    def describe(self) -> str:
        errors = [e.get("message") for e in self.source.errors + self.destination.errors]
        return (f"attempt {self.number} (kill {self.kill} at line {self.at_line}, killed={self.killed}): "
                f"forwarded {self.forwarded}, source exit {self.source_exit}, destination exit "
                f"{self.destination_exit}, {len(self.forwarded_states)} states in, "
                f"{len(self.destination.states)} states out, errors {errors}, hung={self.hung}, "
                f"source stderr {self.source_stderr[-800:]!r}, destination stderr {self.destination_stderr[-800:]!r}")


def _blobs(states: list[dict[str, Any]]) -> list[tuple[StreamKey, Any]]:
    return [(stream_key(state), stream_state(state)) for state in states]


class Pipeline:
    """One connection (configs + catalog) synced attempt after attempt."""

    def __init__(self, workdir: Path, source_config: dict[str, Any], destination_config: dict[str, Any],
                 catalog: dict[str, Any], *, timeout_s: float = 120.0) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.source_config = write_json(workdir / "source.json", source_config)
        self.destination_config = write_json(workdir / "destination.json", destination_config)
        self.catalog = write_json(workdir / "catalog.json", catalog)
        self.timeout_s = timeout_s
        self.committed: dict[StreamKey, dict[str, Any]] = {}
        self.attempts: list[Attempt] = []

    @property
    def kills(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.killed)

    def run(self, kill: str = "none", at_line: Optional[int] = None) -> Attempt:
        """One attempt; checks what must hold whatever was killed, then commits the confirmed states."""
        attempt = Attempt(len(self.attempts) + 1, kill, at_line)
        self.attempts.append(attempt)
        started = time.monotonic()
        argv = [SOURCE, "read", "--config", self.source_config, "--catalog", self.catalog]
        if self.committed:
            argv += ["--state", write_json(self.workdir / f"state-{attempt.number}.json", state_input(self.committed))]
        source_err = self.workdir / f"source-{attempt.number}.stderr"
        destination_err = self.workdir / f"destination-{attempt.number}.stderr"
        with open(source_err, "wb") as serr, open(destination_err, "wb") as derr:
            source = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=serr,
                                      start_new_session=True)
            destination = subprocess.Popen(
                [DESTINATION, "write", "--config", self.destination_config, "--catalog", self.catalog],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=derr, start_new_session=True)
            self._drive(attempt, source, destination)
        attempt.source_stderr = source_err.read_text(errors="replace")
        attempt.destination_stderr = destination_err.read_text(errors="replace")
        attempt.elapsed_s = time.monotonic() - started
        scan(f"source-convex read (attempt {attempt.number})", "", attempt.source_stderr)
        scan(f"destination-convex write (attempt {attempt.number})", "", attempt.destination_stderr)
        self._check(attempt)
        update_latest(self.committed, attempt.destination.states)
        return attempt

    def _drive(self, attempt: Attempt, source: subprocess.Popen[bytes], destination: subprocess.Popen[bytes]) -> None:
        def watchdog() -> None:
            attempt.hung = True
            kill_group(source)
            kill_group(destination)

        timer = threading.Timer(self.timeout_s, watchdog)
        timer.daemon = True
        timer.start()
        destination_lines: list[bytes] = []
        reader = threading.Thread(target=lambda: destination_lines.extend(destination.stdout or []), daemon=True)
        reader.start()
        alive = True
        assert source.stdout is not None and destination.stdin is not None
        source_text: list[bytes] = []
        try:
            for raw in source.stdout:
                source_text.append(raw)
                message = attempt.source.add_line(raw.decode("utf-8", "replace"))
                if message is None or message["type"] not in ("RECORD", "STATE"):
                    continue
                if alive:
                    try:
                        destination.stdin.write(raw if raw.endswith(b"\n") else raw + b"\n")
                        destination.stdin.flush()
                    except (BrokenPipeError, ValueError):
                        alive = False
                attempt.forwarded += 1
                if message["type"] == "STATE":
                    attempt.forwarded_states.append(message["state"])
                if attempt.kill != "none" and not attempt.killed and attempt.forwarded >= (attempt.at_line or 0):
                    attempt.killed = True
                    if attempt.kill == "source":
                        kill_group(source)  # what it already wrote is still drained and forwarded
                    else:
                        kill_group(destination)
                        alive = False
                        kill_group(source)  # the platform ends the sync
            try:
                destination.stdin.close()
            except BrokenPipeError:
                pass
            remaining = max(1.0, self.timeout_s - 1)
            try:
                attempt.source_exit = source.wait(timeout=remaining)
                attempt.destination_exit = destination.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                watchdog()
                attempt.source_exit = source.wait()
                attempt.destination_exit = destination.wait()
            reader.join(timeout=10)
        finally:
            timer.cancel()
            kill_group(source)
            kill_group(destination)
        source_stdout = b"".join(source_text).decode("utf-8", "replace")
        destination_stdout = b"".join(destination_lines).decode("utf-8", "replace")
        scan(f"source-convex read (attempt {attempt.number})", source_stdout, "")
        scan(f"destination-convex write (attempt {attempt.number})", destination_stdout, "")
        attempt.destination = Output.parse(destination_stdout)

    def _check(self, attempt: Attempt) -> None:
        """What must hold after any attempt, killed or not."""
        about = attempt.describe()
        assert not attempt.hung, f"hang: {about}"
        assert TRACEBACK not in attempt.source_stderr + attempt.destination_stderr, f"traceback: {about}"
        sent = _blobs(attempt.forwarded_states)
        confirmed = _blobs(attempt.destination.states)
        # The destination confirms states it was given, in order, never one of its own making.
        assert confirmed == sent[: len(confirmed)], f"destination states are not a prefix of its input: {about}"
        destination_killed = attempt.killed and attempt.kill == "destination"
        if destination_killed:
            assert attempt.destination_exit == KILLED or attempt.destination_exit == 0, about
            return
        # The destination's input ended cleanly (the source finished or died): it must commit
        # everything and confirm every state.
        assert attempt.destination_exit == 0 and not attempt.destination.errors, f"destination failed: {about}"
        assert confirmed == sent, f"destination did not confirm every state it received: {about}"
        if attempt.killed:
            assert attempt.source_exit in (KILLED, 0), about
        else:
            assert attempt.source_exit == 0 and not attempt.source.errors, f"source failed: {about}"

    def sync(self, rng: random.Random, *, kills: int, line_hint: int,
             between: Optional[Callable[[], None]] = None) -> list[Attempt]:
        """`kills` attempts killed at random points (source or destination), then attempts
        without kills until one completes; `between` runs after each killed attempt."""
        done: list[Attempt] = []
        for _ in range(kills):
            kill = rng.choice(("source", "destination"))
            done.append(self.run(kill, rng.randint(1, max(1, line_hint))))
            if between is not None:
                between()
        done.append(self.run())
        return done

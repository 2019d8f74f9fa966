"""Airbyte messages as plain dicts: parsing a connector's output and keeping per-stream state.

Output lines that are not JSON objects are kept aside as `noise` (a bare traceback would be
there). States are keyed by `(namespace, name)`; the latest per stream is what the platform
would hand the next sync as its `--state` (a list of per-stream STATE messages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

StreamKey = tuple[Optional[str], str]


@dataclass
class Output:
    """The parsed stdout of one connector run."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> "Output":
        out = cls()
        for line in text.splitlines():
            out.add_line(line)
        return out

    def add_line(self, line: str) -> Optional[dict[str, Any]]:
        """Parse one line; returns the message, or None for noise."""
        if not line.strip():
            return None
        try:
            message = json.loads(line)
        except ValueError:
            self.noise.append(line)
            return None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            self.noise.append(line)
            return None
        self.messages.append(message)
        return message

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The `record` objects of RECORD messages, in order."""
        return [m["record"] for m in self.of_type("RECORD")]

    @property
    def states(self) -> list[dict[str, Any]]:
        """The `state` objects of STATE messages, in order."""
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The `error` objects of ERROR traces."""
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    @property
    def log_text(self) -> str:
        return "\n".join(m["log"].get("message", "") for m in self.of_type("LOG"))

    def index_of_first_error(self) -> Optional[int]:
        for i, m in enumerate(self.messages):
            if m["type"] == "TRACE" and m["trace"].get("type") == "ERROR":
                return i
        return None

    def states_after_first_error(self) -> list[dict[str, Any]]:
        first = self.index_of_first_error()
        if first is None:
            return []
        return [m["state"] for m in self.messages[first:] if m["type"] == "STATE"]


def stream_key(state: dict[str, Any]) -> StreamKey:
    """The stream a STREAM state belongs to."""
    descriptor = state["stream"]["stream_descriptor"]
    return (descriptor.get("namespace"), descriptor["name"])


def stream_state(state: dict[str, Any]) -> dict[str, Any]:
    """The connector's own blob inside a STREAM state."""
    return state["stream"]["stream_state"]


def update_latest(latest: dict[StreamKey, dict[str, Any]], states: Iterable[dict[str, Any]]) -> None:
    """Keep the latest STREAM state per stream, in arrival order."""
    for state in states:
        if state.get("type") != "STREAM":
            raise AssertionError(f"expected per-stream STATE messages, got type {state.get('type')!r}")
        latest[stream_key(state)] = state


def state_input(latest: dict[StreamKey, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `--state` file a platform writes: one STREAM state per stream, as it was emitted
    (minus the stats, which belong to that one sync)."""
    return [{"type": "STREAM", "stream": state["stream"]} for state in latest.values()]

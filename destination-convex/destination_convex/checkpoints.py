"""Which STATE messages may be emitted: only those whose records Convex has acknowledged.

Each table counts the records it has received and, separately, the records Convex has
acknowledged. One table's requests complete strictly in order, so "acknowledged" is always a
prefix of "received" and two counters say everything. When a STATE arrives it records, for
every table it covers, how many records that table had received; it is released once each of
those tables has acknowledged at least that many. A STREAM state covers its own stream; GLOBAL
and LEGACY states (and any state type this code does not know) cover every stream.

States are released in the order they arrived. Each released message is the input message,
unchanged except for `state.destinationStats.recordCount`: the records of the covered streams
since the previous state that covered them (what Airbyte compares with `sourceStats`).
A state whose records will never be written (`abandon`) is dropped, never emitted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .plan import StreamKey


@dataclass
class _Pending:
    message: dict[str, Any]
    #: table -> records it must have acknowledged before this state may go out.
    needs: dict[str, int]


class Checkpoints:
    """Tracks records per table and releases STATE messages once their records are stored."""

    def __init__(self, tables_by_stream: Mapping[StreamKey, str]) -> None:
        self._table_of = dict(tables_by_stream)
        self._received: dict[str, int] = dict.fromkeys(self._table_of.values(), 0)
        self._acknowledged: dict[str, int] = dict(self._received)
        self._since_state: dict[StreamKey, int] = {}
        self._pending: deque[_Pending] = deque()
        self.states_received = 0
        self.states_released = 0
        self.states_dropped = 0

    @property
    def waiting(self) -> int:
        """STATE messages held back until their records are acknowledged."""
        return len(self._pending)

    def received(self, stream: StreamKey, table: str) -> None:
        """Count one record of `stream`, buffered for `table`."""
        self._received[table] += 1
        self._since_state[stream] = self._since_state.get(stream, 0) + 1

    def acknowledged(self, counts: Mapping[str, int]) -> None:
        """Convex stored these many more records of each table (one completed request)."""
        for table, count in counts.items():
            self._acknowledged[table] += count
            if self._acknowledged[table] > self._received[table]:
                raise AssertionError(f"table {table} acknowledged more records than it received")

    def state(self, message: dict[str, Any]) -> dict[str, int]:
        """Hold one STATE message (the whole AirbyteMessage dict) until its records are stored.

        Returns what it waits for: table -> records received so far, for each covered table
        with records not yet acknowledged (the caller flushes those tables).
        """
        self.states_received += 1
        state = message.get("state")
        state = state if isinstance(state, dict) else {}
        covered = self._covered_streams(state)
        if covered is None:
            tables: Iterable[str] = self._received
            count = sum(self._since_state.values())
            self._since_state.clear()
        else:
            tables = [self._table_of[stream] for stream in covered if stream in self._table_of]
            count = sum(self._since_state.pop(stream, 0) for stream in covered)
        needs = {table: self._received[table] for table in tables if self._received[table] > self._acknowledged[table]}
        stats = state.get("destinationStats")
        state["destinationStats"] = {**(stats if isinstance(stats, dict) else {}), "recordCount": float(count)}
        message["state"] = state
        self._pending.append(_Pending(message, needs))
        return dict(needs)

    def abandon(self, table: str) -> int:
        """Give up on `table`'s unacknowledged records (a replacement that will not happen): drop
        every held STATE that waits for them, since it can never be emitted truthfully, and let
        later states stop waiting for them. Returns how many states were dropped."""
        pending = deque(held for held in self._pending if table not in held.needs)
        dropped = len(self._pending) - len(pending)
        self._pending = pending
        self._received[table] = self._acknowledged[table]
        for stream, stream_table in self._table_of.items():
            if stream_table == table:  # its dropped records are no later state's destinationStats
                self._since_state.pop(stream, None)
        self.states_dropped += dropped
        return dropped

    def received_count(self, table: str) -> int:
        """Records of `table` received so far."""
        return self._received[table]

    def release(self) -> list[dict[str, Any]]:
        """The STATE messages that may be emitted now, oldest first."""
        released = []
        while self._pending and all(
            self._acknowledged[table] >= count for table, count in self._pending[0].needs.items()
        ):
            released.append(self._pending.popleft().message)
        self.states_released += len(released)
        return released

    def _covered_streams(self, state: Mapping[str, Any]) -> list[StreamKey] | None:
        """Streams a STREAM state covers; None means every stream."""
        if state.get("type") != "STREAM":
            return None
        stream = state.get("stream")
        descriptor = stream.get("stream_descriptor") if isinstance(stream, dict) else None
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("name"), str):
            # A STREAM state that names no stream: cover everything rather than guess.
            return None
        return [(descriptor.get("namespace"), descriptor["name"])]

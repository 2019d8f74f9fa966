"""What a read has to do for each configured stream, decided before the first page.

Each configured stream becomes a `StreamRun`: its table, whether it is incremental, and
its current state, which only its transition methods change (each one of the pure functions of
`state`).

- Incremental streams continue from their saved state: a new snapshot, the rest of an
  interrupted one, or the change log after their position. A run that starts a new
  snapshot has no state (None) until the read pins its timestamp.
- Full-refresh streams are resumable full refresh, as the CDK defines it: an interrupted
  snapshot (saved by an earlier attempt of the same job) continues; anything else, a
  finished snapshot included, starts a new one. The platform clears their state between
  jobs, so a new job always re-reads the whole table.

Streams the deployment no longer has are set apart, to be reported, not silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, SyncMode

from .config import TableRef
from .state import (
    Phase,
    StateError,
    StreamState,
    data_sync_read,
    deltas_read,
    load_state,
    phase_of,
    replaced_snapshot_start,
    snapshot_finished,
    snapshot_page_read,
    snapshot_started,
)


class StreamRun:
    """One configured stream during a read, and the only writer of its state.

    Every change goes through one of the transitions below, each built on a pure function of
    `state`: `snapshot_started`, `snapshot_page_read`, `snapshot_done`, `moved_by_change_log`,
    `moved_by_data_sync`, `resync` and `restart_snapshot`. A run whose phase is NEW starts a new
    snapshot: no timestamp is pinned for it yet, and no such state is ever saved (`checkpoint`).
    """

    def __init__(self, table: TableRef, incremental: bool, state: StreamState | None) -> None:
        self.table = table
        self.incremental = incremental
        self._state = state
        self._saved = state  # the state last emitted (or given as input)
        self._replaces: int | None = None  # a SnapshotTooOld restart: the older snapshot's timestamp
        self.snapshot_restarted = False
        self.running = False
        self.finished = False

    @property
    def state(self) -> StreamState | None:
        """The current state (None: a new snapshot whose timestamp is not pinned yet)."""
        return self._state

    @property
    def saved(self) -> StreamState | None:
        """The state last emitted (or the input state, before anything was)."""
        return self._saved

    @property
    def phase(self) -> Phase:
        return phase_of(self._state)

    @property
    def key(self) -> tuple[str, str]:
        """(`_component`, `_table`): how change-log rows name their stream."""
        return (self.table.component, self.table.name)

    @property
    def past_snapshot(self) -> StreamState:
        """The state of a run past its snapshot (only asked for then)."""
        state = self._state
        if state is None or state["snapshot_has_more"] or state["delta_cursor"] is None:
            raise AssertionError(f"stream {self.table} reached the change log without a position")
        return state

    @property
    def log_position(self) -> int:
        """The change-log position of a run past its snapshot."""
        return self.past_snapshot["delta_cursor"] or 0

    # -- transitions ----------------------------------------------------------------------

    def snapshot_started(self, snapshot_ts: int) -> None:
        """A new snapshot of the table at `snapshot_ts`, nothing read yet."""
        self._state = snapshot_started(snapshot_ts, deltas_from=self._replaces)

    def snapshot_page_read(self, cursor: str | None) -> None:
        """A snapshot page was emitted; continue after `cursor`."""
        self._state = snapshot_page_read(self._snapshotting(), cursor)

    def snapshot_done(self) -> None:
        """The snapshot's last page was emitted: the change log starts at its timestamp (or the older one's)."""
        self._state = snapshot_finished(self._snapshotting())

    def moved_by_change_log(self, cursor: int) -> None:
        """The change log was walked up to `cursor` (never moves the position back)."""
        self._state = deltas_read(self.past_snapshot, cursor)

    def moved_by_data_sync(self, cursor: str, scope: str, consistent_at: int | None) -> None:
        """A data sync page was emitted (see `state.data_sync_read`)."""
        self._state = data_sync_read(self.past_snapshot, cursor, scope, consistent_at)

    def resync(self) -> None:
        """Its change-log position expired: read it again from a new snapshot of this sync."""
        self._state = None

    def restart_snapshot(self) -> None:
        """Convex no longer serves its snapshot (SnapshotTooOld): start a new one, whose change-log
        position starts at the older snapshot's timestamp (see `state.replaced_snapshot_start`)."""
        self.snapshot_restarted = True
        self._replaces = replaced_snapshot_start(self._state)
        self._state = None

    def _snapshotting(self) -> StreamState:
        if self._state is None:
            raise AssertionError(f"stream {self.table} read a snapshot page before its snapshot started")
        return self._state

    # -- what goes out ----------------------------------------------------------------------

    def checkpoint(self) -> StreamState | None:
        """The state to emit now: the current one when it changed since last emitted, else None."""
        if self._state is None or self._state == self._saved:
            return None
        self._saved = self._state
        return self._state

    def start_running(self) -> bool:
        """True the first time only (when its RUNNING status goes out)."""
        first = not self.running
        self.running = True
        return first

    def finish(self) -> StreamState | None:
        """The run is complete; its final state to emit (None for a run that has none)."""
        self.finished = True
        if self._state is not None:
            self._saved = self._state
        return self._state


@dataclass
class ReadPlan:
    """The runs of a read, in catalog order, and the configured streams that have no table."""

    runs: list[StreamRun] = field(default_factory=list)
    unknown: list[TableRef] = field(default_factory=list)


def plan_read(
    catalog: ConfiguredAirbyteCatalog,
    saved_state: Callable[[str, str | None], Mapping[str, Any]],
    available: Callable[[TableRef], bool],
) -> ReadPlan:
    """Build the runs. `saved_state(name, namespace)` gives a stream's saved blob ({} if none).

    Raises StateError (with the stream named) for a saved state that cannot be read.
    """
    plan = ReadPlan()
    seen: set[TableRef] = set()
    for configured in catalog.streams:
        table = TableRef.of_stream(configured.stream.name, configured.stream.namespace)
        if table in seen:
            continue  # a catalog listing a stream twice still reads it once
        seen.add(table)
        if not available(table):
            plan.unknown.append(table)
            continue
        plan.runs.append(_run(configured, table, saved_state(table.name, table.namespace)))
    return plan


def _run(configured: ConfiguredAirbyteStream, table: TableRef, raw: Mapping[str, Any]) -> StreamRun:
    incremental = configured.sync_mode == SyncMode.incremental
    try:
        state = load_state(raw)
    except StateError as err:
        raise StateError(f"The saved state of stream {table} cannot be read: {err}.") from None
    phase = phase_of(state)
    if phase is Phase.NEW or (not incremental and phase is not Phase.SNAPSHOT):
        # Nothing to continue (a blob without a timestamp, whatever cursor it holds, starts over;
        # reading after its cursor at a new timestamp would skip documents): the run starts a new
        # snapshot, and its state is None until that snapshot's timestamp is pinned.
        state = None
    return StreamRun(table, incremental, state)

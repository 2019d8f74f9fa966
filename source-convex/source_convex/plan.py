"""What a read has to do for each configured stream, decided before the first page.

Each configured stream becomes a `StreamRun`: its table, whether it is incremental, and
its current state (which then only changes through the pure functions of `state`).

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

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, SyncMode

from .state import Phase, StateError, StreamState, load_state, phase_of
from .tables import TableRef


@dataclass
class StreamRun:
    """One configured stream during a read."""

    table: TableRef
    incremental: bool
    state: Optional[StreamState]
    saved: Optional[StreamState] = None  # the state last emitted
    running: bool = False
    finished: bool = False
    snapshot_restarted: bool = False
    deltas_from: Optional[int] = None  # set by a SnapshotTooOld restart: the older snapshot's timestamp

    @property
    def phase(self) -> Phase:
        return phase_of(self.state)

    @property
    def key(self) -> tuple[str, str]:
        """(`_component`, `_table`): how change-log rows name their stream."""
        return (self.table.component, self.table.name)


@dataclass
class ReadPlan:
    """The runs of a read, in catalog order, and the configured streams that have no table."""

    runs: list[StreamRun] = field(default_factory=list)
    unknown: list[TableRef] = field(default_factory=list)


def plan_read(
    catalog: ConfiguredAirbyteCatalog,
    saved_state: Callable[[str, Optional[str]], Mapping[str, Any]],
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
    return StreamRun(table=table, incremental=incremental, state=state, saved=state)

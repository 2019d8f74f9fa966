"""The read, orchestrated across streams: one consistent snapshot, then one change-log walk.

The CDK's per-stream loop cannot share one walk of Convex's change log between streams
(see `deltas`), so this module runs the whole read and emits RECORD, per-stream STATE and
stream-status TRACE messages itself. Order of a sync:

1. STARTED for every configured stream; the tables are listed; streams the deployment
   does not have are INCOMPLETE.
2. Saved change-log positions are checked (`expiry`): expired ones end the sync with a
   config_error naming them, or, when the config says so, are read again in step 3.
3. Snapshots (`snapshot`): first the snapshot timestamp is pinned and the started state of
   every stream that starts a new snapshot goes out, before any record; then the tables in
   catalog order, `parallel_snapshots` at a time (interleaved page by page, see
   `parallel_snapshots`; 1 = table by table), all new ones at the pinned timestamp; each
   table's state goes out when it is done. Full-refresh streams are COMPLETE here.
4. One pass over the changes for every incremental stream: the data sync API where the deployment
   has it (`data_sync`, which also sees cleared and replaced tables), else one change-log walk
   (`deltas`).
5. Final states and COMPLETE; then a config_error if the catalog named missing streams.

On any failure the states of what was emitted go out first, then INCOMPLETE for every
unfinished stream, then the error as an AirbyteTracedException (config_error for anything
the user must fix). Pages are streamed: at most two are held per table being read (one
read ahead), so 2 x `parallel_snapshots` in all.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any, Iterator, List, Mapping, Optional

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalog,
    FailureType,
)
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from convex_shared import ConvexClient, ConvexError, DeltaPage
from convex_shared.airbyte import traced

from . import data_sync, deltas, messages
from .cadence import Cadence, Checkpointer, Progress
from .context import ReadContext
from .config import OnExpiredPosition
from .expiry import expired_message, probe
from .page_lanes import Lane
from .pages import PageReader
from .parallel_snapshots import ParallelSnapshots
from .plan import ReadPlan, StreamRun, plan_read
from .snapshot import SnapshotPhase
from .state import Phase, StateError, position
from .table_schemas import deployment_schemas
from .tables import TableRef

_STARTED = AirbyteStreamStatus.STARTED
_RUNNING = AirbyteStreamStatus.RUNNING
_COMPLETE = AirbyteStreamStatus.COMPLETE
_INCOMPLETE = AirbyteStreamStatus.INCOMPLETE


def state_manager(state: Optional[List[AirbyteStateMessage]]) -> ConnectorStateManager:
    """The CDK's view of the input state, or a config_error for state it cannot take."""
    try:
        return ConnectorStateManager(state=state)
    except ValueError as err:
        raise AirbyteTracedException(
            message="The saved state is a GLOBAL state with shared data, which this connector never writes. Reset "
            "the connection's state (or refresh its streams) in Airbyte.",
            internal_message=str(err),
            failure_type=FailureType.config_error,
        ) from None


class ReadOrchestrator:
    """Runs one read across all configured streams; see the module docstring."""

    def __init__(
        self,
        client: ConvexClient,
        on_expired: OnExpiredPosition,
        logger: logging.Logger,
        cadence: Cadence = Cadence(),
        parallel_snapshots: int = 1,
    ) -> None:
        self._client = client
        self._parallel = parallel_snapshots  # tables snapshotted at once (1: one after another)
        self._on_expired = on_expired
        self._logger = logger
        self._cadence = cadence
        self._context: Optional[ReadContext] = None
        self._snapshot_phase: Optional[SnapshotPhase] = None
        self._runs: list[StreamRun] = []
        self._open: dict[TableRef, None] = {}  # streams STARTED and not yet COMPLETE/INCOMPLETE
        self._doing = "Preparing the read"

    # -- the whole read ----------------------------------------------------------------

    def read(
        self, catalog: ConfiguredAirbyteCatalog, state: Optional[List[AirbyteStateMessage]]
    ) -> Iterator[AirbyteMessage]:
        """All messages of the read (see the module docstring for the order)."""
        manager = state_manager(state)
        try:
            for configured in catalog.streams:
                table = TableRef.of_stream(configured.stream.name, configured.stream.namespace)
                if table not in self._open:
                    self._open[table] = None
                    yield messages.status(table.name, table.namespace, _STARTED)
            self._doing = "Listing the tables of the deployment"
            schemas = deployment_schemas(self._client, self._logger, find_refused=False)
            reader = PageReader(self._client, schemas, self._logger)
            self._context = ReadContext(
                reader, self._logger, Checkpointer(self._cadence), Progress(self._logger, self._cadence)
            )
            self._snapshot_phase = SnapshotPhase(self._context)
            plan = self._plan(catalog, manager, schemas)
            yield from self._read(plan)
        except ConvexError as err:
            yield from self._abort()
            raise traced(err, self._doing) from None
        except Exception:
            yield from self._abort()
            raise

    @property
    def _ctx(self) -> ReadContext:
        if self._context is None:
            raise AssertionError("pages are read only after the tables are listed")
        return self._context

    @property
    def _snapshots(self) -> SnapshotPhase:
        if self._snapshot_phase is None:
            raise AssertionError("snapshots are read only after the tables are listed")
        return self._snapshot_phase

    def _plan(
        self, catalog: ConfiguredAirbyteCatalog, manager: ConnectorStateManager, available: Mapping[TableRef, Any]
    ) -> ReadPlan:
        try:
            plan = plan_read(catalog, manager.get_stream_state, lambda table: table in available)
        except StateError as err:
            raise AirbyteTracedException(
                message=f"{err} Reset this stream's state (or refresh it) in Airbyte to start it over.",
                failure_type=FailureType.config_error,
            ) from None
        self._runs = plan.runs
        return plan

    def _read(self, plan: ReadPlan) -> Iterator[AirbyteMessage]:
        for table in plan.unknown:
            self._logger.warning("Stream %s is in the catalog but the deployment has no such table.", table)
            yield from self._close(table, _INCOMPLETE)

        first_page = self._handle_expired_positions()
        self._doing = "Starting the snapshots of the new streams"
        yield from self._snapshots.start_new(run for run in self._runs if run.phase is Phase.NEW)
        snapshots = [run for run in self._runs if run.phase is not Phase.DELTAS]
        if self._parallel > 1 and len(snapshots) > 1:  # parallel snapshots (issue 16), see parallel_snapshots
            yield from ParallelSnapshots(self._parallel, self._ctx, self._reading_snapshot).read(
                [(run.table, partial(self._snapshot, run)) for run in snapshots])
        else:
            for run in snapshots:
                yield from self._snapshot(run)
        incremental = [run for run in self._runs if run.incremental]
        if incremental:
            yield from self._walk(incremental, first_page)
        for run in self._runs:
            if not run.finished:
                yield from self._finish(run)
        self._logger.info("Read finished: %s.", self._ctx.progress.summary())
        if plan.unknown:
            names = ", ".join(str(table) for table in plan.unknown)
            raise AirbyteTracedException(
                message=f"The connection lists streams this Convex deployment does not have: {names}. The other "
                "streams were synced. Refresh the source schema in the connection settings and deselect these "
                "streams (the tables were deleted or renamed, or belong to another deployment).",
                failure_type=FailureType.config_error,
            )

    # -- expired positions ----------------------------------------------------------------

    def _handle_expired_positions(self) -> Optional[tuple[int, DeltaPage]]:
        positions = {
            run.table: pos for run in self._runs if run.incremental and (pos := position(run.state)) is not None
        }
        if not positions:
            return None
        self._doing = "Checking the saved change-log positions"
        result = probe(positions, self._ctx.reader.delta_page)
        if not result.expired:
            return result.first_page
        expired = {table: positions[table] for table in result.expired}
        explanation = expired_message(expired, self._deployment_now(min(expired)))
        if self._on_expired is OnExpiredPosition.FAIL:
            details = f" [Convex: {result.error.details}]" if result.error else ""
            raise AirbyteTracedException(
                message=explanation + details,
                internal_message=f"InvalidWindowToReadDocuments for {sorted(map(str, expired))}",
                failure_type=FailureType.config_error,
            )
        self._logger.warning(
            "%s Because on_expired_position is 'resync', these streams are read again from a new snapshot now; "
            "documents deleted meanwhile are not reported as deletes.", explanation)
        for run in self._runs:
            if run.table in result.expired:
                run.state = None
        return result.first_page

    def _deployment_now(self, table: TableRef) -> int:
        """The deployment's current time (its clock decides what expired), from the timestamp of
        a snapshot page of `table`; our own clock if even that fails. Only on this error path."""
        try:
            now: int = self._ctx.reader.snapshot_page(table, None, None).snapshot
            return now
        except ConvexError as err:
            self._logger.info("Could not read the deployment's clock (%s); using this machine's.", err.code)
            return time.time_ns()

    # -- phases ---------------------------------------------------------------------------

    def _snapshot(self, run: StreamRun, lane: Optional[Lane[Any, Any]] = None) -> Iterator[AirbyteMessage]:
        self._reading_snapshot(run.table)
        ctx = self._ctx if lane is None else lane.context
        yield from self._running(run)
        yield from self._snapshots.read(run, lane)
        yield from ctx.checkpoint([run])
        ctx.checkpointer.reset()
        if not run.incremental:
            yield from self._finish(run)

    def _reading_snapshot(self, table: TableRef) -> None:
        self._doing = f"Reading the snapshot of table {table}"

    def _walk(self, runs: list[StreamRun], first_page: Optional[tuple[int, DeltaPage]]) -> Iterator[AirbyteMessage]:
        self._doing = "Reading the changes since the last sync"
        for run in runs:
            yield from self._running(run)
        try:
            yield from data_sync.walk(self._ctx, runs)
            return
        except data_sync.DataSyncUnavailable as unavailable:
            self._logger.info("This Convex backend has no data sync API (%s answered 404); reading the change log "
                              "with document_deltas, which cannot see cleared or replaced tables.", unavailable)
        self._doing = "Reading the change log"
        yield from deltas.walk(self._ctx, runs, first_page)

    # -- checkpoints and endings ----------------------------------------------------------

    def _running(self, run: StreamRun) -> Iterator[AirbyteMessage]:
        if not run.running:
            run.running = True
            yield messages.status(run.table.name, run.table.namespace, _RUNNING)

    def _finish(self, run: StreamRun) -> Iterator[AirbyteMessage]:
        if run.state is not None:
            run.saved = run.state
            yield messages.state(run.table, run.state)
        run.finished = True
        yield from self._close(run.table, _COMPLETE)

    def _close(self, table: TableRef, status: AirbyteStreamStatus) -> Iterator[AirbyteMessage]:
        if table in self._open:
            del self._open[table]
            yield messages.status(table.name, table.namespace, status)

    def _abort(self) -> Iterator[AirbyteMessage]:
        """Before the error: save what was emitted, mark every unfinished stream INCOMPLETE."""
        if self._context is not None:
            yield from self._context.checkpoint([run for run in self._runs if not run.finished])
        for table in list(self._open):
            yield from self._close(table, _INCOMPLETE)

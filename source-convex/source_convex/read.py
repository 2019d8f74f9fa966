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
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

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
from convex_shared.errors import ConnectorError, step

from . import data_sync, deltas, messages
from .cadence import Cadence, Checkpoints
from .config import OnExpiredPosition, TableRef
from .expiry import expired_message, probe
from .messages import Emitted
from .page_lanes import Lane
from .parallel_snapshots import ParallelSnapshots
from .plan import ReadPlan, StreamRun, plan_read
from .reader import PageReader
from .snapshot import SnapshotPhase
from .state import Phase, StateError, position

_STARTED = AirbyteStreamStatus.STARTED
_RUNNING = AirbyteStreamStatus.RUNNING
_COMPLETE = AirbyteStreamStatus.COMPLETE
_INCOMPLETE = AirbyteStreamStatus.INCOMPLETE


def state_manager(state: list[AirbyteStateMessage] | None) -> ConnectorStateManager:
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
    """Runs one read across all configured streams; see the module docstring.

    `list_tables` lists the deployment's tables (once per read, after every stream is STARTED, so
    a failure to list still ends each stream INCOMPLETE); a Convex failure leaves here as a
    ConvexError named with the step it happened in (`step`).
    """

    def __init__(
        self,
        client: ConvexClient,
        list_tables: Callable[[], Mapping[TableRef, Mapping[str, Any]]],
        on_expired: OnExpiredPosition,
        logger: logging.Logger,
        cadence: Cadence = Cadence(),
        parallel_snapshots: int = 1,
    ) -> None:
        self._list_tables = list_tables
        # Filled once the tables are listed; the reader holds the same mapping (it needs a table's
        # schema only for the clean-json fallback, after the listing).
        self._schemas: dict[TableRef, Mapping[str, Any]] = {}
        self._parallel = parallel_snapshots  # tables snapshotted at once (1: one after another)
        self._on_expired = on_expired
        self._logger = logger
        self._reader = PageReader(client, self._schemas, logger)
        self._checkpoints = Checkpoints(cadence, logger)
        self._snapshots = SnapshotPhase(self._reader, self._checkpoints, logger)
        self._runs: list[StreamRun] = []
        self._open: dict[TableRef, None] = {}  # streams STARTED and not yet COMPLETE/INCOMPLETE

    # -- the whole read ----------------------------------------------------------------

    def read(self, catalog: ConfiguredAirbyteCatalog, state: list[AirbyteStateMessage] | None) -> Iterator[Emitted]:
        """All messages of the read (see the module docstring for the order)."""
        manager = state_manager(state)
        try:
            for configured in catalog.streams:
                table = TableRef.of_stream(configured.stream.name, configured.stream.namespace)
                if table not in self._open:
                    self._open[table] = None
                    yield messages.status(table.name, table.namespace, _STARTED)
            with step("Listing the tables of the deployment"):
                self._schemas.update(self._list_tables())
            plan = self._plan(catalog, manager, self._schemas)
            yield from self._read(plan)
        except Exception:
            yield from self._abort()
            raise

    def _plan(
        self, catalog: ConfiguredAirbyteCatalog, manager: ConnectorStateManager, available: Mapping[TableRef, Any]
    ) -> ReadPlan:
        try:
            plan = plan_read(catalog, manager.get_stream_state, lambda table: table in available)
        except StateError as err:
            raise ConnectorError(
                str(err),
                failure_type="config_error",
                remedy="Reset this stream's state (or refresh it) in Airbyte to start it over.",
            ) from None
        self._runs = plan.runs
        return plan

    def _read(self, plan: ReadPlan) -> Iterator[Emitted]:
        for table in plan.unknown:
            self._logger.warning("Stream %s is in the catalog but the deployment has no such table.", table)
            yield from self._close(table, _INCOMPLETE)

        with step("Checking the saved change-log positions"):
            first_page = self._handle_expired_positions()
        with step("Starting the snapshots of the new streams"):
            yield from self._snapshots.start_new([run for run in self._runs if run.phase is Phase.NEW])
        snapshots = [run for run in self._runs if run.phase is not Phase.DELTAS]
        if self._parallel > 1 and len(snapshots) > 1:  # parallel snapshots (issue 16), see parallel_snapshots
            yield from ParallelSnapshots(self._parallel, self._checkpoints).read(
                [(run.table, partial(self._snapshot, run)) for run in snapshots]
            )
        else:
            for run in snapshots:
                yield from self._snapshot(run)
        incremental = [run for run in self._runs if run.incremental]
        if incremental:
            yield from self._walk(incremental, first_page)
        for run in self._runs:
            if not run.finished:
                yield from self._finish(run)
        self._logger.info("Read finished: %s.", self._checkpoints.progress.summary())
        if plan.unknown:
            names = ", ".join(str(table) for table in plan.unknown)
            raise ConnectorError(
                f"The connection lists streams this Convex deployment does not have: {names}. The other streams "
                "were synced.",
                failure_type="config_error",
                remedy="Refresh the source schema in the connection settings and deselect these streams (the tables "
                "were deleted or renamed, or belong to another deployment).",
            )

    # -- expired positions ----------------------------------------------------------------

    def _handle_expired_positions(self) -> tuple[int, DeltaPage] | None:
        positions = {
            run.table: pos for run in self._runs if run.incremental and (pos := position(run.state)) is not None
        }
        if not positions:
            return None
        result = probe(positions, self._reader.delta_page)
        if not result.expired:
            return result.first_page
        expired = {table: positions[table] for table in result.expired}
        explanation = expired_message(expired, self._deployment_now(min(expired)))
        if self._on_expired is OnExpiredPosition.FAIL:
            details = f" [Convex: {result.error.details}]" if result.error else ""
            raise ConnectorError(
                explanation + details,
                failure_type="config_error",
                internal=f"InvalidWindowToReadDocuments for {sorted(map(str, expired))}",
            )
        self._logger.warning(
            "%s Because on_expired_position is 'resync', these streams are read again from a new snapshot now; "
            "documents deleted meanwhile are not reported as deletes.",
            explanation,
        )
        for run in self._runs:
            if run.table in result.expired:
                run.resync()
        return result.first_page

    def _deployment_now(self, table: TableRef) -> int:
        """The deployment's current time (its clock decides what expired), from the timestamp of
        a snapshot page of `table`; our own clock if even that fails. Only on this error path."""
        try:
            now: int = self._reader.snapshot_page(table, None, None).snapshot
            return now
        except ConvexError as err:
            self._logger.info("Could not read the deployment's clock (%s); using this machine's.", err.code)
            return time.time_ns()

    # -- phases ---------------------------------------------------------------------------

    def _snapshot(self, run: StreamRun, lane: Lane[Any, Any] | None = None) -> Iterator[Emitted]:
        checkpoints = self._checkpoints if lane is None else lane.checkpoints
        # The step names the table even when parallel snapshots interleave it with others: it is
        # set on the error while it leaves this table's own generator.
        with step(f"Reading the snapshot of table {run.table}"):
            yield from self._running(run)
            yield from self._snapshots.read(run, lane)
            yield from checkpoints.table_done([run])
        if not run.incremental:
            yield from self._finish(run)

    def _walk(self, runs: list[StreamRun], first_page: tuple[int, DeltaPage] | None) -> Iterator[Emitted]:
        for run in runs:
            yield from self._running(run)
        try:
            with step("Reading the changes since the last sync"):
                yield from data_sync.walk(self._reader, self._checkpoints, self._logger, runs)
            return
        except data_sync.DataSyncUnavailable as unavailable:
            self._logger.info(
                "This Convex backend has no data sync API (%s answered 404); reading the change log "
                "with document_deltas, which cannot see cleared or replaced tables.",
                unavailable,
            )
        with step("Reading the change log"):
            yield from deltas.walk(self._reader, self._checkpoints, self._logger, runs, first_page)

    # -- checkpoints and endings ----------------------------------------------------------

    def _running(self, run: StreamRun) -> Iterator[AirbyteMessage]:
        if run.start_running():
            yield messages.status(run.table.name, run.table.namespace, _RUNNING)

    def _finish(self, run: StreamRun) -> Iterator[AirbyteMessage]:
        state = run.finish()
        if state is not None:
            yield messages.state(run.table, state)
        yield from self._close(run.table, _COMPLETE)

    def _close(self, table: TableRef, status: AirbyteStreamStatus) -> Iterator[AirbyteMessage]:
        if table in self._open:
            del self._open[table]
            yield messages.status(table.name, table.namespace, status)

    def _abort(self) -> Iterator[AirbyteMessage]:
        """Before the error: save what was emitted, mark every unfinished stream INCOMPLETE."""
        yield from self._checkpoints.now([run for run in self._runs if not run.finished])
        for table in list(self._open):
            yield from self._close(table, _INCOMPLETE)

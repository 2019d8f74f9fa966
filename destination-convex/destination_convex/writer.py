"""The write loop: records into batches, batches into requests, acknowledgements into states.

The main thread reads and encodes input while the pipeline's workers send requests. After
every input batch, timer tick or request completion it:
1. takes the acknowledged requests and credits their records to their tables;
2. sends the buffers that must go now: tables a held STATE waits for, and buffers older than
   the flush interval. A table whose previous request is still queued or running is not sent
   yet: its next request could not start before that one ends anyway, so it keeps filling
   until its lane is free (group commit). With a source that emits a STATE every few records
   this makes big requests instead of many tiny ones, and it does not delay any state;
3. emits the STATE messages whose records are all acknowledged, in arrival order.
A request that fails for good raises at step 1, so no state is emitted after a failure.

Streams that replace their table (overwrite, truncate refresh) are spooled instead of sent,
and cleared and written only when the source reports them COMPLETE (`replacement`).

Deletes: in dedup mode a record whose `_ab_cdc_deleted_at` is set is encoded as an upsert
followed by the delete (`records`), one unit that travels in one request, so the key ends up
absent whether or not Convex held it, and a replay is harmless; it counts as one record in
checkpoints and `destinationStats`. In append and overwrite modes it is sent as is and Convex
inserts it like any record (Convex drops the `_ab_cdc_*` fields on import, so the row does not
say it was a deletion).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from convex_shared import ConvexClient, ConvexError
from convex_shared.progress import ProgressTimer

from .batches import Batcher, ImportRequest, TableSpec
from .checkpoints import Checkpoints
from .dedup_conflicts import duplicate_keys_error, is_duplicate_key_failure
from .errors import TRANSIENT_ERROR, ConvexStepError, DestinationError
from .options import MIB, WriterOptions
from .pacing import WritePacer
from .pipeline import Pipeline, RequestFailed
from .plan import StreamPlan, WriteMode, plans_by_stream
from .records import RecordEncoder
from .replacement import Replacements, kept_message, log_replacing, stream_status

#: Seconds between wake-ups when input is quiet (ages are checked this often).
TICK_S = 0.5
#: Seconds between progress lines in the log.
PROGRESS_EVERY_S = 60.0


class MessageSource(Protocol):
    """Where messages come from: stdin on a thread, or an in-memory iterable."""

    def wake(self) -> None: ...

    def batches(self, tick_s: float) -> Iterator[list[dict[str, Any]]]: ...


@dataclass
class _Totals:
    records: int = 0
    acknowledged: int = 0
    requests: int = 0
    request_bytes: int = 0
    write_bytes: int = 0
    ignored_messages: int = 0


class Writer:
    """Writes one sync's records to Convex and yields the STATE messages to emit."""

    def __init__(
        self,
        client: ConvexClient,
        plans: Sequence[StreamPlan],
        options: WriterOptions,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._options = options
        self._logger = logger
        self._clock = clock
        self._plans = plans_by_stream(plans)
        names = [plan.name for plan in plans]
        # Records that omit a namespace their stream has still find it, when the name is unique.
        self._by_name = {plan.name: plan for plan in plans if names.count(plan.name) == 1}
        self._encoders = {
            plan.key: RecordEncoder(plan, store_airbyte_metadata=options.store_airbyte_metadata) for plan in plans
        }
        rate = options.write_rate_bytes_per_s
        self._pacer = WritePacer(rate) if rate > 0 else None
        batcher_options = {"max_write_bytes": self._pacer.max_request_bytes} if self._pacer else {}
        self._batcher = Batcher(
            [
                TableSpec(
                    table=plan.table,
                    primary_key=[list(path) for path in plan.primary_key] if plan.primary_key else None,
                    idempotent=plan.idempotent,
                )
                for plan in plans
            ],
            max_batch_bytes=options.max_batch_bytes,
            max_buffered_bytes=options.max_buffered_bytes,
            clock=clock,
            **batcher_options,
        )
        self._labels = {plan.table: plan.label for plan in plans}
        self._checkpoints = Checkpoints({plan.key: plan.table for plan in plans})
        self._replacements = Replacements({plan.table: plan.label for plan in plans if plan.truncate})
        self._dedup_tables = frozenset(plan.table for plan in plans if plan.mode is WriteMode.DEDUP)
        self._pipeline = Pipeline(
            self._send,
            max_parallel=options.max_parallel_requests,
            max_in_flight_bytes=options.max_in_flight_bytes,
        )
        #: table -> records received through which it must be sent (a STATE or age asks).
        self._flush_through: dict[str, int] = {}
        self._per_table: dict[str, int] = {plan.table: 0 for plan in plans}
        self._totals = _Totals()
        self._progress = ProgressTimer(PROGRESS_EVERY_S, clock)

    def run(self, source: MessageSource) -> Iterator[dict[str, Any]]:
        """Consume every message from `source`; yield STATE messages as they become safe."""
        self._pipeline.on_complete = source.wake
        self._pipeline.start()
        try:
            for messages in source.batches(TICK_S):
                for message in messages:
                    kind = message["type"]
                    if kind == "RECORD":
                        self._record(message)
                    elif kind == "STATE":
                        self._state(message)
                    elif kind == "TRACE":
                        self._trace(message)
                    else:
                        self._totals.ignored_messages += 1
                yield from self._step()
            yield from self._finish()
        finally:
            self._pipeline.stop()
            self._replacements.close()

    # -- input ---------------------------------------------------------------------------

    def _record(self, message: dict[str, Any]) -> None:
        record = message.get("record")
        if not isinstance(record, dict):
            raise DestinationError(
                "The source sent a RECORD message without a record object. This is a problem in the source connector."
            )
        stream, namespace = record.get("stream"), record.get("namespace")
        plan = self._plan_for(namespace, stream)
        if plan is None:
            raise DestinationError(
                f"The source sent a record for stream '{stream}'"
                + (f" in namespace '{namespace}'" if namespace is not None else "")
                + ", which is not in the configured catalog. Refresh the source schema in the connection and retry."
            )
        encoded = self._encoders[plan.key].encode(record)
        self._totals.records += 1
        if self._replacements.given_up(plan.table):
            # Never written, so never counted as received: a later STATE must not wait for it.
            self._replacements.count_late(plan.table)
            return
        self._checkpoints.received(plan.key, plan.table)
        if self._replacements.holds(plan.table):
            self._replacements.spool(plan.table, encoded)
            return
        for request in self._batcher.add(plan.table, encoded):
            self._submit(request)

    def _plan_for(self, namespace: Any, stream: Any) -> StreamPlan | None:
        plan = self._plans.get((namespace, stream))
        # Messages that omit a namespace their stream has still find it, when the name is unique.
        return self._by_name.get(stream) if plan is None and namespace is None else plan

    def _trace(self, message: dict[str, Any]) -> None:
        """A STREAM_STATUS decides when a replacing stream's table is cleared and written."""
        status = stream_status(message)
        if status is None:
            self._totals.ignored_messages += 1
            return
        namespace, name, value = status
        plan = self._plan_for(namespace, name)
        table = plan.table if plan is not None else ""
        if self._replacements.status(table, value):
            self._replace(table)
        elif self._replacements.given_up(table) and value == "INCOMPLETE":
            self._checkpoints.abandon(table)
            self._logger.warning(
                f"The source reported stream '{name}' INCOMPLETE: the Convex table '{table}' is not replaced and "
                f"keeps its documents; the {self._replacements.record_count(table)} records read are discarded."
            )

    def _replace(self, table: str) -> None:
        """Clear `table`, then send its spooled records (the writer's usual batching and states)."""
        log_replacing(self._logger, table, self._labels[table], self._replacements.record_count(table))
        try:
            self._client.clear_tables([table])
        except ConvexError as err:
            raise ConvexStepError(f"Clearing the Convex table '{table}' before writing its new records", err) from None
        for encoded in self._replacements.records(table):
            for request in self._batcher.add(table, encoded):
                self._submit(request)
        self._flush_through[table] = self._checkpoints.received_count(table)

    def _state(self, message: dict[str, Any]) -> None:
        for table, through in self._checkpoints.state(message).items():
            self._flush_through[table] = max(through, self._flush_through.get(table, 0))

    # -- sending -------------------------------------------------------------------------

    def _step(self) -> Iterator[dict[str, Any]]:
        """Credit acknowledgements, send what must go, emit safe states."""
        self._acknowledge()
        cutoff = self._clock() - self._options.flush_interval_s
        for table in self._batcher.opened_before(cutoff):
            self._flush_through[table] = self._checkpoints.received_count(table)
        self._flush_due()
        states = self._checkpoints.release()
        yield from states
        self._log_progress()

    def _acknowledge(self) -> None:
        try:
            done = self._pipeline.completed()
        except RequestFailed as failure:
            raise self._failure(failure) from None
        for request in done:
            self._checkpoints.acknowledged(request.counts)
            self._totals.acknowledged += request.record_count
            for table, count in request.counts.items():
                self._per_table[table] += count

    def _flush_due(self) -> None:
        ready = []
        for table, through in list(self._flush_through.items()):
            first_buffered = self._checkpoints.received_count(table) - self._batcher.buffered_count(table)
            if through <= first_buffered:
                del self._flush_through[table]  # those records already left the buffer
            elif not self._pipeline.busy(table):
                ready.append(table)
                del self._flush_through[table]
        for request in self._batcher.take(ready):
            self._submit(request)

    def _submit(self, request: ImportRequest) -> None:
        try:
            self._pipeline.submit(request)
        except RequestFailed as failure:
            raise self._failure(failure) from None
        self._totals.requests += 1
        self._totals.request_bytes += len(request.body)
        self._totals.write_bytes += request.write_bytes

    def _send(self, request: ImportRequest) -> None:
        """Runs on a worker thread: one import request (retries are the shared client's)."""
        if self._pacer is not None:
            self._pacer.acquire(request.write_bytes)
        self._client.import_airbyte_records(request.body, idempotent=request.idempotent)

    def _streams_of(self, request: ImportRequest) -> str:
        """The quoted stream names a request carries, for messages."""
        return ", ".join(f"'{self._labels[table]}'" for table in request.tables)

    def _failure(self, failure: RequestFailed) -> BaseException:
        tables = ", ".join(failure.request.tables)
        streams = self._streams_of(failure.request)
        context = (
            f"Importing {failure.request.record_count} records of stream(s) {streams} into the Convex table(s) {tables}"
        )
        cause = failure.cause
        if isinstance(cause, ConvexError):
            if cause.transient and cause.maybe_committed and not failure.request.idempotent:
                # What stays at-least-once: the next attempt resends every record after the last STATE.
                cause.explanation += (
                    f" Airbyte's next attempt sends the records after the last checkpoint again, so up to "
                    f"{failure.request.record_count} rows of this batch may end up stored twice; an Append + Deduped "
                    "sync with a primary key never stores a row twice."
                )
            dedup = [table for table in failure.request.tables if table in self._dedup_tables]
            if is_duplicate_key_failure(cause, dedup):
                # A 500 on a dedup table is almost always duplicate keys (an earlier append sync).
                return duplicate_keys_error(context, cause, [(self._labels[t], t) for t in dedup])
            return ConvexStepError(context, cause)
        return cause

    def _finish(self) -> Iterator[dict[str, Any]]:
        """End of input: send every buffer, wait for every request, emit the last states."""
        for table in self._replacements.at_end_of_input():
            self._logger.info(
                f"The source reports no stream status, so the end of its input is taken as the end of stream "
                f"'{self._labels[table]}'."
            )
            self._replace(table)
        kept = self._replacements.kept()
        for table, _held in kept:
            self._checkpoints.abandon(table)
        for table in self._batcher.buffered_tables():
            self._flush_through[table] = self._checkpoints.received_count(table)
        while True:
            yield from self._step()
            if not self._flush_through and self._pipeline.idle:
                break
            self._pipeline.wait(TICK_S)
        yield from self._step()
        if self._checkpoints.waiting:
            raise DestinationError(
                f"{self._checkpoints.waiting} STATE messages were still held after every request to Convex ended, so "
                "they were not emitted (the records they cover are stored; the next sync resends them). This is a bug "
                "in the destination: please report it with this message."
            )
        self._log_summary()
        failed = [(table, held) for table, held in kept if held.records or self._replacements.statuses_seen]
        if failed:
            raise DestinationError(kept_message(failed), failure_type=TRANSIENT_ERROR)
        for table, held in kept:
            self._logger.warning(
                f"Stream '{held.label}': {held.reason}, so the Convex table '{table}' was left as it was."
            )

    # -- logs ----------------------------------------------------------------------------

    def _log_progress(self) -> None:
        if self._progress.due() is None:
            return
        elapsed = self._progress.elapsed_s()
        self._logger.info(
            f"Progress: {self._totals.records} records read, {self._totals.acknowledged} stored in Convex "
            f"({self._totals.acknowledged / elapsed:.0f} records/s) in {self._totals.requests} requests; "
            f"{self._checkpoints.states_released} of {self._checkpoints.states_received} states emitted; "
            f"{(self._batcher.buffered_bytes + self._pipeline.in_flight_bytes) / MIB:.1f} MiB buffered or in flight."
        )

    def _log_summary(self) -> None:
        elapsed = self._progress.elapsed_s()
        for plan in self._plans.values():
            self._logger.info(
                f"Stream '{plan.label}': {self._per_table[plan.table]} records written to the Convex table "
                f"'{plan.table}' ({plan.mode.value})."
            )
        self._logger.info(
            f"Wrote {self._totals.acknowledged} records in {self._totals.requests} requests "
            f"({self._totals.request_bytes / MIB:.1f} MiB) in {elapsed:.1f} s "
            f"({self._totals.acknowledged / elapsed:.0f} records/s); "
            f"emitted {self._checkpoints.states_released} states."
        )
        if self._pacer is not None:
            self._logger.info(
                f"Writes were paced at {self._pacer.bytes_per_s / MIB:g} MiB/s (max_write_rate_mib_per_second), "
                f"{self._totals.write_bytes / MIB:.1f} MiB as Convex counts them, waiting {self._pacer.waited_s:.1f} s."
            )
        if self._totals.ignored_messages:
            self._logger.info(f"Ignored {self._totals.ignored_messages} messages that are neither RECORD nor STATE.")

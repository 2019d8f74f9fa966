"""Mutation mode's writer: the streaming-import writer's loop, pipeline and checkpoints, with calls
of the user's ingest mutation (or HTTP action) instead of import requests.

Each call carries one stream's records, as they arrived:
`{"stream", "namespace", "syncMode", "primaryKey", "batchId", "records": [<record data>, ...]}`.
Batches are bounded by records per call and by bytes (under Convex's per-call limits:
16,000 writes, 16 MiB written and 16 MiB of arguments per mutation, crates/common/src/knobs.rs).
The writer's pipeline keeps one stream's calls in order and runs streams in parallel; a STATE
goes out only after every call covering it succeeded (`checkpoints`).

`batchId` is `<sync run>-<stream number>-<batch number>`: the same for every retry of a call, so a
function that records the ids it applied (the documented `convex/ingest.ts` does) applies a
retried batch once. A call that fails on a per-call limit is split in two halves (ids `<id>.0`,
`<id>.1`), each sent in order, down to one record; a thrown ConvexError stops the sync naming the
record's position when the function put `recordIndex` in its errorData.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from convex_shared import ConvexError
from convex_shared.functions import ConvexFunctionError, Failure

from .batches import ImportRequest, OpenBuffers
from .errors import CONFIG_ERROR, ConfigurationError, ConvexStepError, DestinationError
from .options import WriterOptions
from .pipeline import RequestFailed
from .plan import StreamPlan
from .writer import Writer

Send = Callable[[bytes], None]


@dataclass(frozen=True)
class MutationCall(ImportRequest):
    """One call's arguments (`body`) plus what is needed to split it or name a record."""

    header: bytes = b""  # the arguments before `"records":[`, batch id excluded
    batch_id: str = ""
    records: tuple[bytes, ...] = ()
    #: 1-based position, in this sync's records of the stream, of the call's first record.
    first_record: int = 1
    label: str = ""


def call_body(header: bytes, batch_id: str, records: Sequence[bytes]) -> bytes:
    return header + b'"batchId":' + orjson.dumps(batch_id) + b',"records":[' + b",".join(records) + b"]}"


@dataclass
class _Buffer:
    header: bytes
    label: str
    records: list[bytes]
    nbytes: int = 0
    opened_at: float = 0.0
    sent: int = 0  # records of this stream already closed into calls
    calls: int = 0


class MutationBatcher(OpenBuffers):
    """Per-stream buffers closed into calls bounded by `max_records` and `max_bytes` (Batcher's interface)."""

    def __init__(
        self,
        plans: Iterable[StreamPlan],
        key_paths: Mapping[tuple[str | None, str], Any],
        max_records: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = uuid.uuid4().hex[:12]
        self._buffers: dict[str, _Buffer] = {}
        self._numbers: dict[str, int] = {}
        for number, plan in enumerate(plans):
            header = (
                orjson.dumps(
                    {
                        "stream": plan.name,
                        "namespace": plan.namespace,
                        "syncMode": plan.mode.value,
                        "primaryKey": key_paths.get(plan.key),
                    }
                )[:-1]
                + b","
            )
            self._buffers[plan.table] = _Buffer(header, plan.label, [])
            self._numbers[plan.table] = number
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._clock = clock

    @property
    def buffered_bytes(self) -> int:
        return sum(buffer.nbytes for buffer in self._buffers.values())

    def add(self, table: str, record: bytes) -> list[ImportRequest]:
        buffer = self._buffers[table]
        closed: list[ImportRequest] = []
        if buffer.records and buffer.nbytes + len(record) + 1 + len(buffer.header) + 64 > self._max_bytes:
            closed.append(self._close(table))
        if not buffer.records:
            buffer.opened_at = self._clock()
        buffer.records.append(record)
        buffer.nbytes += len(record) + 1
        if len(buffer.records) >= self._max_records:
            closed.append(self._close(table))
        return closed

    def take(self, tables: Iterable[str]) -> list[ImportRequest]:
        return [self._close(table) for table in tables if self._buffers[table].records]

    def _close(self, table: str) -> MutationCall:
        buffer = self._buffers[table]
        records = tuple(buffer.records)
        batch_id = f"{self._run}-{self._numbers[table]}-{buffer.calls}"
        call = MutationCall(
            body=call_body(buffer.header, batch_id, records),
            counts={table: len(records)},
            idempotent=True,
            header=buffer.header,
            batch_id=batch_id,
            records=records,
            first_record=buffer.sent + 1,
            label=buffer.label,
        )
        buffer.calls += 1
        buffer.sent += len(records)
        buffer.records = []
        buffer.nbytes = 0
        return call


class RawRecordEncoder:
    """A record's `data`, serialized once: the user's function decides what to store."""

    def __init__(self, plan: StreamPlan) -> None:
        self._label = plan.label

    def encode(self, record: Mapping[str, Any]) -> bytes:
        data = record.get("data")
        if not isinstance(data, dict):
            raise DestinationError(
                f"A record of stream '{self._label}' has data that is not a JSON object. This is "
                "a problem in the source connector."
            )
        try:
            return orjson.dumps(data)
        except TypeError as exc:
            raise DestinationError(f"A record of stream '{self._label}' cannot be written as JSON ({exc}).") from None


class MutationWriter(Writer):
    """`Writer` whose requests are calls of the ingest function (see the module docstring)."""

    def __init__(
        self,
        send: Send,
        target: str,
        plans: Sequence[StreamPlan],
        key_paths: Mapping[Any, Any],
        options: WriterOptions,
        max_records: int,
        logger: logging.Logger,
    ) -> None:
        super().__init__(None, plans, options, logger)  # type: ignore[arg-type]  # no import client: calls go to `send`
        self._call = send
        self._target = target
        self._batcher = MutationBatcher(plans, key_paths, max_records, options.max_batch_bytes)  # type: ignore[assignment]
        self._encoders = {plan.key: RawRecordEncoder(plan) for plan in plans}  # type: ignore[misc]

    def _send(self, request: ImportRequest) -> None:
        if not isinstance(request, MutationCall):
            raise TypeError(f"mutation mode sends MutationCall requests, not {type(request).__name__}")
        if self._pacer is not None:
            # What the function writes is its own; its arguments are the closest measure of it we have, and
            # its writes fill the same per-second window the app's mutations need (see pacing).
            self._pacer.acquire(len(request.body))
        self._send_call(request)

    def _send_call(self, call: MutationCall) -> None:
        try:
            self._call(call.body)
        except ConvexFunctionError as err:
            if err.failure is Failure.LIMIT and len(call.records) > 1:
                half = len(call.records) // 2
                self._logger.warning(
                    f"{self._target} hit a per-call limit with {len(call.records)} records of stream "
                    f"'{call.label}' ({err.error_message.splitlines()[-1][:200]}); sending them as "
                    f"two calls of {half} and {len(call.records) - half}."
                )
                for part, records in enumerate((call.records[:half], call.records[half:])):
                    batch_id = f"{call.batch_id}.{part}"
                    first = call.first_record + (half if part else 0)
                    self._send_call(
                        MutationCall(
                            body=call_body(call.header, batch_id, records),
                            counts={},
                            idempotent=True,
                            header=call.header,
                            batch_id=batch_id,
                            records=records,
                            first_record=first,
                            label=call.label,
                        )
                    )
                return
            raise self._rejection(call, err) from None

    def _rejection(self, call: MutationCall, err: ConvexFunctionError) -> Exception:
        where = f"records {call.first_record}-{call.first_record + len(call.records) - 1}"
        index = err.error_data.get("recordIndex") if isinstance(err.error_data, dict) else None
        if isinstance(index, (int, float)) and not isinstance(index, bool) and 0 <= index < len(call.records):
            where = f"record {call.first_record + int(index)} (position {int(index)} in batch {call.batch_id})"
        if err.failure is Failure.LIMIT:
            return ConfigurationError(
                f"{self._target} cannot take {where} of stream '{call.label}' even alone: {err} "
                "Make the record smaller, or raise the function's limits."
            )
        if err.failure_type == CONFIG_ERROR:
            return ConfigurationError(f"{self._target} rejected {where} of stream '{call.label}': {err}")
        return ConvexStepError(f"Calling {self._target} with {where} of stream '{call.label}'", err)

    def _log_summary(self) -> None:
        for plan in self._plans.values():
            self._logger.info(
                f"Stream '{plan.label}': {self._per_table[plan.table]} records accepted by "
                f"{self._target} ({plan.mode.value})."
            )
        self._logger.info(
            f"Sent {self._totals.acknowledged} records in {self._totals.requests} calls of "
            f"{self._target}; emitted {self._checkpoints.states_released} states."
        )

    def _failure(self, failure: RequestFailed) -> BaseException:
        # Not the import writer's explanation: a function's 500 says nothing about duplicate keys, and
        # the records went to the function, not straight into tables.
        cause = failure.cause
        if isinstance(cause, ConvexError) and not isinstance(cause, ConvexFunctionError):
            return ConvexStepError(
                f"Calling {self._target} with {failure.request.record_count} records of stream(s) "
                f"{self._streams_of(failure.request)}",
                cause,
            )
        return cause

"""Per-table buffers of encoded records, closed into bounded import requests.

A request body is
`{"tables":{<entry of each table in it>},"messages":[<record>,<record>,...]}` and its size is
known exactly before it is built, so no request is ever over the configured batch size (a single
record bigger than the batch size goes alone, still far under Convex's 20 MiB ceiling). The
`tables` map carries only the tables whose messages are in that request, and a request is
never empty. Every entry sends `"jsonSchema": {}`: Convex requires the key but ignores it.

One request is also one Convex transaction: Convex commits an import every 16,000 writes or
16 MiB of documents (in its own size accounting) and goes on in a new transaction, so an error
after that point would leave part of the request stored, and a retry of an append request would
store that part twice. Requests therefore carry at most MAX_MESSAGES messages and
`max_write_bytes` of documents (at most MAX_TRANSACTION_BYTES, well under 16 MiB).

The unit is the encoded record, never the import message: a deleted record of a dedup stream
is two messages already joined by a comma (`records`), and the batcher adds, measures, counts
and closes it as one item, so the two halves always travel in the same request, in order.
`ImportRequest.counts` therefore counts input records, which is what checkpoints credit.

Buffers close in two ways:
- `add` closes a table's buffer when the next record would not fit, and closes the biggest
  buffer when all buffers together exceed `max_buffered_bytes` (memory stays bounded however
  many streams a sync has);
- `take` closes the buffers of the given tables on demand (a STATE, their age, end of input),
  packing several small tables into one request when they fit together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .records import EncodedRecord
from .sizes import MIB

#: Import messages per request: Convex's TRANSACTION_MAX_NUM_USER_WRITES.
MAX_MESSAGES = 16_000
#: Documents per request in Convex's size accounting, under its 16 MiB per transaction.
MAX_TRANSACTION_BYTES = 12 * MIB

_OPEN = b'{"tables":{'
_MIDDLE = b'},"messages":['
_CLOSE = b"]}"
_ENVELOPE_BYTES = len(_OPEN) + len(_MIDDLE) + len(_CLOSE)


@dataclass(frozen=True)
class TableSpec:
    """What a request says about one table: its `tables` entry, and whether retries are safe."""

    table: str
    primary_key: list[list[str]] | None
    idempotent: bool

    def entry(self) -> bytes:
        """`"<table>":{"primaryKey":...,"jsonSchema":{}}` (one member of the `tables` object)."""
        member = orjson.dumps({self.table: {"primaryKey": self.primary_key, "jsonSchema": {}}})
        return member[1:-1]


@dataclass(frozen=True)
class ImportRequest:
    """One serialized `import_airbyte_records` body and what it carries."""

    body: bytes
    #: Input records per table, in the order the tables appear in the body (a dedup deletion
    #: is one record even though it is two messages).
    counts: Mapping[str, int]
    #: True when every table in it deduplicates, so a retry cannot duplicate rows.
    idempotent: bool
    #: What the body writes in Convex's accounting (for pacing).
    write_bytes: int = 0

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.counts)

    @property
    def record_count(self) -> int:
        return sum(self.counts.values())


@dataclass
class _Buffer:
    spec: TableSpec
    entry: bytes
    #: Encoded records (each one or two import messages).
    records: list[bytes] = field(default_factory=list)
    #: Sum of their lengths plus the commas between them.
    record_bytes: int = 0
    messages: int = 0
    write_bytes: int = 0
    opened_at: float = 0.0

    def body_bytes_with(self, extra: int) -> int:
        """Body size of a one-table request holding this buffer plus a record of `extra` bytes."""
        total = self.record_bytes + extra + (1 if self.records else 0)
        return _ENVELOPE_BYTES + len(self.entry) + total


class OpenBuffers:
    """What the writer asks of a batcher about its per-table buffers (`_buffers`, each with
    `records` and `opened_at`); shared by `Batcher` and mutation mode's batcher."""

    _buffers: Mapping[str, Any]

    def buffered_count(self, table: str) -> int:
        """Records of `table` waiting in its open buffer."""
        return len(self._buffers[table].records)

    def buffered_tables(self) -> list[str]:
        """Tables with at least one buffered record."""
        return [table for table, buffer in self._buffers.items() if buffer.records]

    def opened_before(self, moment: float) -> list[str]:
        """Tables whose oldest buffered record arrived before `moment` (clock time)."""
        return [table for table, buffer in self._buffers.items() if buffer.records and buffer.opened_at < moment]


class Batcher(OpenBuffers):
    """Holds each table's open buffer and turns buffers into requests."""

    def __init__(
        self,
        specs: Iterable[TableSpec],
        max_batch_bytes: int,
        max_buffered_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        max_write_bytes: int = MAX_TRANSACTION_BYTES,
    ) -> None:
        self._buffers = {spec.table: _Buffer(spec, spec.entry()) for spec in specs}
        self._max_batch_bytes = max_batch_bytes
        self._max_write_bytes = min(max_write_bytes, MAX_TRANSACTION_BYTES)
        self._max_buffered_bytes = max_buffered_bytes
        self._buffered_bytes = 0
        self._clock = clock

    @property
    def buffered_bytes(self) -> int:
        """Encoded record bytes held in open buffers."""
        return self._buffered_bytes

    def add(self, table: str, encoded: EncodedRecord) -> list[ImportRequest]:
        """Buffer one encoded record (kept whole); returns the requests this closed (usually none)."""
        buffer = self._buffers[table]
        record = encoded.data
        closed = []
        if buffer.records and (
            buffer.body_bytes_with(len(record)) > self._max_batch_bytes
            or buffer.messages + encoded.messages > MAX_MESSAGES
            or buffer.write_bytes + encoded.write_bytes > self._max_write_bytes
        ):
            closed.append(self._close([buffer]))
        if not buffer.records:
            buffer.opened_at = self._clock()
            added = len(record)
        else:
            added = len(record) + 1
        buffer.records.append(record)
        buffer.record_bytes += added
        buffer.messages += encoded.messages
        buffer.write_bytes += encoded.write_bytes
        self._buffered_bytes += added
        if self._buffered_bytes > self._max_buffered_bytes:
            biggest = max(self._buffers.values(), key=lambda candidate: candidate.record_bytes)
            closed.append(self._close([biggest]))
        return closed

    def take(self, tables: Iterable[str]) -> list[ImportRequest]:
        """Close the buffers of `tables` (empty ones are skipped), packed into as few requests as fit."""
        requests: list[ImportRequest] = []
        group: list[_Buffer] = []
        group_bytes = _ENVELOPE_BYTES
        group_messages = group_writes = 0
        for table in tables:
            buffer = self._buffers[table]
            if not buffer.records:
                continue
            size = len(buffer.entry) + buffer.record_bytes
            if group and (
                group_bytes + size + 2 > self._max_batch_bytes
                or group_messages + buffer.messages > MAX_MESSAGES
                or group_writes + buffer.write_bytes > self._max_write_bytes
            ):
                requests.append(self._close(group))
                group, group_bytes, group_messages, group_writes = [], _ENVELOPE_BYTES, 0, 0
            # +2: the commas joining this table's entry and first record to the previous table's.
            group_bytes += size + (2 if group else 0)
            group_messages += buffer.messages
            group_writes += buffer.write_bytes
            group.append(buffer)
        if group:
            requests.append(self._close(group))
        return requests

    def _close(self, buffers: list[_Buffer]) -> ImportRequest:
        entries = b",".join(buffer.entry for buffer in buffers)
        if len(buffers) == 1:
            encoded = b",".join(buffers[0].records)
        else:
            encoded = b",".join(record for buffer in buffers for record in buffer.records)
        body = b"".join((_OPEN, entries, _MIDDLE, encoded, _CLOSE))
        counts = {buffer.spec.table: len(buffer.records) for buffer in buffers}
        idempotent = all(buffer.spec.idempotent for buffer in buffers)
        write_bytes = sum(buffer.write_bytes for buffer in buffers)
        for buffer in buffers:
            self._buffered_bytes -= buffer.record_bytes
            buffer.records = []
            buffer.record_bytes = buffer.messages = buffer.write_bytes = 0
        return ImportRequest(body=body, counts=counts, idempotent=idempotent, write_bytes=write_bytes)

"""One record -> the bytes of its `import_airbyte_records` message(s).

Serialization happens once per record, here, with orjson; the batch and the request body are
then built by joining these bytes, never by re-serializing. A record that Convex could never
store (data that is not an object, or a document over Convex's 1 MiB limit) raises DestinationError
naming the stream and the size: the sync stops rather than silently dropping it.

Deletes in dedup mode. Convex deletes the document matching a deleted record's key, but when
no document matches it INSERTS the record (a stub holding just the key). Airbyte delivers at
least once: after any crash or ambiguous retry the records since the last confirmed STATE come
again, so a delete often arrives for a document that is already gone. A deleted record in a
dedup stream is therefore encoded as two messages, joined by a comma into one unit that the
batcher never splits: first the same data with the delete flag set to null (an upsert: it
replaces the stored document or inserts one), then the record as received (now exactly one
document matches, so Convex deletes it). Whatever the table held before, no document is left,
so replaying the pair is harmless; it costs one extra write per delete. Both halves carry the
same data, so they resolve to the same primary-key value, nested key paths included. In append
and overwrite modes a deleted record stays one message (Convex inserts it like any record).

Top-level keys are renamed here, with the stream's one mapping (`fields.FieldMapping`), so
Convex keeps every name as sent and a delete record names its key exactly as the stored
documents do. The delete flag is the field stored as `source_ab_cdc_deleted_at` (normally
`_ab_cdc_deleted_at`), set when not null.

Each record is checked against Convex's document limits in Convex's own size accounting
(`sizes`) before it is sent, so a record that could never be stored stops the sync with its
stream and field named, instead of failing a whole request.

With `store_airbyte_metadata` the document also gets `_airbyte_raw_id` (a fresh UUID),
`_airbyte_extracted_at` (the record's emitted_at, ms since epoch) and `_airbyte_generation_id`;
Convex's naming rule stores them as `source_airbyte_raw_id`, `source_airbyte_extracted_at` and
`source_airbyte_generation_id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import CONFIG_ERROR, SYSTEM_ERROR, DestinationError
from .fields import DELETE_FLAG, FieldMapping, FieldNameError
from .plan import StreamPlan, WriteMode
from .sizes import (
    APPEND_WRITE_OVERHEAD,
    DEDUP_WRITE_OVERHEAD,
    MAX_DOCUMENT_SIZE,
    MIB,
    document_size,
    may_break_shape_limits,
    shape_problem,
)


@dataclass(frozen=True)
class EncodedRecord:
    """One record's import message(s), joined by a comma, and what they cost Convex."""

    data: bytes
    #: Import messages in `data`: 2 for a dedup deletion (upsert + delete), else 1.
    messages: int
    #: Convex's size of the documents written, plus each write's log and index entries.
    write_bytes: int


class RecordEncoder:
    """Serializes one stream's records into import messages for its table."""

    def __init__(self, plan: StreamPlan, *, store_airbyte_metadata: bool = False) -> None:
        self._plan = plan
        self._metadata = store_airbyte_metadata
        self._dedup = plan.mode is WriteMode.DEDUP
        self._generation_id = plan.generation_id if plan.generation_id is not None else 0
        self._prefix = b'{"tableName":' + orjson.dumps(plan.table) + b',"data":'
        self._fields: FieldMapping = plan.fields
        self._overhead = DEDUP_WRITE_OVERHEAD if self._dedup else APPEND_WRITE_OVERHEAD

    def encode(self, record: Mapping[str, Any]) -> EncodedRecord:
        """The import message(s) for one RECORD message's `record` object, as one unit.

        Usually one `{"tableName": ..., "data": ...}`; for a deleted record of a dedup stream,
        the upsert and the delete message joined by a comma (see the module docstring).
        """
        data = record.get("data")
        if not isinstance(data, dict):
            raise DestinationError(
                f"A record of stream '{self._plan.label}' has data of type {_json_type(data)}; Convex stores only "
                "objects (documents). This is a problem in the source connector's output.",
                failure_type=SYSTEM_ERROR,
            )
        if self._metadata:
            data = {
                **data,
                "_airbyte_raw_id": str(uuid.uuid4()),
                "_airbyte_extracted_at": record.get("emitted_at"),
                "_airbyte_generation_id": self._generation_id,
            }
        try:
            data = self._fields.apply(data)
        except FieldNameError as err:
            raise DestinationError(
                f"A record of stream '{self._plan.label}': {err}. Rename the field at the source or "
                "deselect it in the connection.",
                failure_type=CONFIG_ERROR,
            ) from None
        payload = self._payload(data)
        size = self._check(data, payload)
        message = self._prefix + payload + b"}"
        if self._dedup and data.get(DELETE_FLAG) is not None:
            # An upsert first, so the delete always finds exactly one document (module docstring).
            upsert = self._prefix + self._payload({**data, DELETE_FLAG: None}) + b"},"
            return EncodedRecord(upsert + message, 2, size + 2 * self._overhead)
        return EncodedRecord(message, 1, size + self._overhead)

    def _payload(self, data: dict[str, Any]) -> bytes:
        try:
            return orjson.dumps(data)
        except TypeError as err:
            raise DestinationError(
                f"A record of stream '{self._plan.label}' cannot be serialized to JSON: {err}.",
                failure_type=SYSTEM_ERROR,
            ) from None

    def _check(self, data: dict[str, Any], payload: bytes) -> int:
        """The document's Convex size; raises DestinationError naming the field past a Convex limit."""
        problem = shape_problem(data) if may_break_shape_limits(payload, len(data)) else None
        if problem is None:
            size = document_size(data)
            if size <= MAX_DOCUMENT_SIZE:
                return size
            problem = (
                f"is {size / MIB:.2f} MiB in Convex's size accounting (a number counts 9 bytes); Convex "
                f"stores documents of at most {MAX_DOCUMENT_SIZE // MIB} MiB"
            )
            remedy = (
                "Exclude its large fields or the stream in the connection's settings, or shrink the data at the source."
            )
        else:
            remedy = "Deselect or reshape that field at the source."
        raise DestinationError(
            f"A record of stream '{self._plan.label}' {problem}. {remedy}", failure_type=CONFIG_ERROR
        )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__

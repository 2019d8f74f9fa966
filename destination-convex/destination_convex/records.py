"""One record -> the bytes of one `import_airbyte_records` message.

Serialization happens once per record, here, with orjson; the batch and the request body are
then built by joining these bytes, never by re-serializing. A record that Convex could never
store (data that is not an object, or a document over Convex's 1 MiB limit) raises RecordError
naming the stream and the size: the sync stops rather than silently dropping it.

With `store_airbyte_metadata` the document also gets `_airbyte_raw_id` (a fresh UUID),
`_airbyte_extracted_at` (the record's emitted_at, ms since epoch) and `_airbyte_generation_id`;
Convex's naming rule stores them as `source_airbyte_raw_id`, `source_airbyte_extracted_at` and
`source_airbyte_generation_id`.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

import orjson

from .errors import CONFIG_ERROR, SYSTEM_ERROR, DestinationError
from .options import MAX_DOCUMENT_BYTES, MIB
from .plan import StreamPlan


class RecordError(DestinationError):
    """A record cannot be stored in Convex; the message names its stream and what is wrong.

    An oversized document is a config_error (the user must exclude or shrink data); data that
    is not an object is a system_error (the source broke the protocol).
    """


class RecordEncoder:
    """Serializes one stream's records into import messages for its table."""

    def __init__(self, plan: StreamPlan, *, store_airbyte_metadata: bool = False) -> None:
        self._plan = plan
        self._metadata = store_airbyte_metadata
        self._generation_id = plan.generation_id if plan.generation_id is not None else 0
        self._prefix = b'{"tableName":' + orjson.dumps(plan.table) + b',"data":'

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """`{"tableName": ..., "data": ...}` for one RECORD message's `record` object."""
        data = record.get("data")
        if not isinstance(data, dict):
            raise RecordError(
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
            payload = orjson.dumps(data)
        except TypeError as err:
            raise RecordError(f"A record of stream '{self._plan.label}' cannot be serialized to JSON: {err}.",
                              failure_type=SYSTEM_ERROR) from None
        if len(payload) > MAX_DOCUMENT_BYTES:
            raise RecordError(
                f"A record of stream '{self._plan.label}' is {len(payload) / MIB:.2f} MiB ({len(payload)} bytes) as "
                f"JSON; Convex stores documents of at most {MAX_DOCUMENT_BYTES // MIB} MiB. Exclude the large fields "
                "or the stream in the connection's settings, or shrink the data at the source.",
                failure_type=CONFIG_ERROR,
            )
        return self._prefix + payload + b"}"


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

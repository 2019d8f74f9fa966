"""One record -> the bytes of its `import_airbyte_records` message(s).

Serialization happens once per record, here, with orjson; the batch and the request body are
then built by joining these bytes, never by re-serializing. A record that Convex could never
store (data that is not an object, or a document over Convex's 1 MiB limit) raises RecordError
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

Which field is the delete flag is decided the way Convex decides it: the top-level field it
stores as `source_ab_cdc_deleted_at` (normally `_ab_cdc_deleted_at`), found with the shared
naming rule so that collisions are resolved exactly as on import, and set when not null.

With `store_airbyte_metadata` the document also gets `_airbyte_raw_id` (a fresh UUID),
`_airbyte_extracted_at` (the record's emitted_at, ms since epoch) and `_airbyte_generation_id`;
Convex's naming rule stores them as `source_airbyte_raw_id`, `source_airbyte_extracted_at` and
`source_airbyte_generation_id`.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping, Sequence

import orjson
from convex_shared.naming import map_keys

from .errors import CONFIG_ERROR, SYSTEM_ERROR, DestinationError
from .options import MAX_DOCUMENT_BYTES, MIB
from .plan import StreamPlan, WriteMode

#: The stored field whose non-null value makes a dedup import delete instead of upsert.
DELETE_FLAG = "source_ab_cdc_deleted_at"
#: Key sets whose delete-flag field is remembered before the memo starts over. A stream's
#: records share a handful of key sets; the bound only matters for wildly varying ones.
REMEMBERED_KEY_SETS = 1024
_UNKNOWN: Any = object()


class RecordError(DestinationError):
    """A record cannot be stored in Convex; the message names its stream and what is wrong.

    An oversized document is a config_error (the user must exclude or shrink data); data that
    is not an object is a system_error (the source broke the protocol).
    """


def delete_flag_field(keys: Sequence[str]) -> str | None:
    """The key, among one record's top-level `keys`, that Convex stores as its delete flag."""
    key_list = list(keys)
    for key, stored in zip(key_list, map_keys(key_list)):
        if stored == DELETE_FLAG:
            return key
    return None


class RecordEncoder:
    """Serializes one stream's records into import messages for its table."""

    def __init__(self, plan: StreamPlan, *, store_airbyte_metadata: bool = False) -> None:
        self._plan = plan
        self._metadata = store_airbyte_metadata
        self._dedup = plan.mode is WriteMode.DEDUP
        self._generation_id = plan.generation_id if plan.generation_id is not None else 0
        self._prefix = b'{"tableName":' + orjson.dumps(plan.table) + b',"data":'
        #: top-level keys (in order) -> the key Convex reads as the delete flag, or None.
        self._flag_fields: dict[tuple[str, ...], str | None] = {}

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """The import message(s) for one RECORD message's `record` object, as one unit.

        Usually one `{"tableName": ..., "data": ...}`; for a deleted record of a dedup stream,
        the upsert and the delete message joined by a comma (see the module docstring).
        """
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
        message = self._prefix + self._payload(data) + b"}"
        if self._dedup:
            keys = tuple(data)
            flag = self._flag_fields.get(keys, _UNKNOWN)
            if flag is _UNKNOWN:
                flag = self._learn_flag_field(keys)
            if flag is not None and data[flag] is not None:
                # Same keys in the same order, so Convex renames (and keys) both halves alike.
                return self._prefix + self._payload({**data, flag: None}) + b"}," + message
        return message

    def _payload(self, data: dict[str, Any]) -> bytes:
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
        return payload

    def _learn_flag_field(self, keys: tuple[str, ...]) -> str | None:
        if len(self._flag_fields) >= REMEMBERED_KEY_SETS:
            self._flag_fields.clear()
        found = self._flag_fields[keys] = delete_flag_field(keys)
        return found


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

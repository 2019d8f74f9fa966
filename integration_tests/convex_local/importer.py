"""The streaming import routes (what the Airbyte destination calls).

Written from crates/local_backend/src/streaming_import.rs, crates/application/src/airbyte_import.rs
and the import loop in crates/application/src/lib.rs (`import_airbyte_records`):
- every message is converted first (renaming, `ArrayTooLong`, `TooManyFieldsError`,
  `TooNestedError`), then the streams; only then does anything get written;
- records apply in order in a transaction that commits whenever the next record would take it
  past 16,000 writes, 16 MiB of documents (Convex's size accounting, `size.py`) or 4,096 index
  intervals read (one per dedup lookup); the record is then redone in a new transaction. An error
  later in the request leaves the earlier transactions committed and discards the current one;
- per document: nesting over 16 is `InvalidDocumentError`, more than 1,024 fields (with `_id` and
  `_creationTime`) `TooManyFieldsError`, over 1 MiB `ValueTooLargeError`;
- import commits are never refused for write throughput (no 429), but they count in the
  deployment's write window (`write_meter.py`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from .database import Database, MissingKeyValue, Transaction, key_text
from .errors import ApiError, internal_error
from .naming import field_name, is_field_name, is_identifier, map_object_keys
from .naming import table_name as convex_table_name
from .settings import Settings
from .size import (
    MAX_DOCUMENT_NESTING,
    TRANSACTION_MAX_READ_INTERVALS,
    system_fields_size,
)
from .values import MAX_ARRAY_LEN, MAX_OBJECT_FIELDS

#: Convex's value-level nesting limit (crates/value/src/size.rs MAX_NESTING).
MAX_VALUE_NESTING = 64
MAX_INDEX_FIELDS = 16
IDENTIFIER_REQUIREMENTS = (
    "Identifiers must start with a letter and can only contain letters, digits, and underscores."
)
CDC_DELETED = "source_ab_cdc_deleted_at"
CDC_PREFIX = "source_ab_cdc"
INDEX_DESCRIPTOR = "_by_airbyte_primary_key"
#: `_id` and `_creationTime` of a document with a 32-character id, for the 16 MiB decision.
_SYSTEM_FIELDS_SIZE = system_fields_size("x" * 32)

Paths = tuple[tuple[str, ...], ...]


class PartialCommitFault(Exception):
    """A test fault that fires after an import request committed its first transaction."""

    def __init__(self, kind: str, retry_after_s: float) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retry_after_s = retry_after_s


def _missing(field: str) -> ApiError:
    return ApiError(
        400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: missing field `{field}`"
    )


def _bad_type(where: str, expected: str) -> ApiError:
    return ApiError(
        400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: {where}: expected {expected}"
    )


def table_name(raw: Any) -> str:
    """An Airbyte stream name as the table it lands in (a 500 when no valid name comes out)."""
    if not isinstance(raw, str):
        raise _bad_type("table name", "a string")
    return convex_table_name(raw)


def _key_paths(raw: Any) -> Paths:
    """`PrimaryKey::try_from`: identifier field paths, at most 16, no `_id`, no repeats.

    Raises ApiError with the index code, or a plain ValueError where the backend has no code."""
    if not isinstance(raw, list) or not raw or not all(isinstance(p, list) and p for p in raw):
        raise ValueError("malformed primary key")
    for path in raw:
        for f in path:
            if not (isinstance(f, str) and is_field_name(f) and is_identifier(f)):
                raise ValueError(f"invalid identifier {f!r}")
    paths = tuple(tuple(p) for p in raw)
    if len(paths) > MAX_INDEX_FIELDS:
        raise ApiError(400, "IndexTooManyFields", f"Indexes may have up to {MAX_INDEX_FIELDS} fields.")
    if ("_id",) in paths:
        raise ApiError(400, "IndexFieldsContainId",
                       "`_id` is not a valid index field. To load documents by ID, use `db.get(id)`.")
    if len(set(paths)) != len(paths):
        raise ApiError(400, "IndexFieldsNotUnique", "Index fields must be unique within an index.")
    return paths


def primary_key(raw: Any) -> Paths:
    """add_primary_key_indexes: validated key paths (not renamed: they name stored fields)."""
    try:
        paths = _key_paths(raw)
    except (ApiError, ValueError):
        raise ApiError(400, "InvalidPrimaryKey", f"Invalid primary key: {IDENTIFIER_REQUIREMENTS} {json.dumps(raw)}.") from None
    # Application::_validate_user_defined_index_fields, then `_creationTime` is appended.
    if ("_creationTime",) in paths:
        raise ApiError(400, "IndexFieldsContainCreationTime",
                       "`_creationTime` is automatically added to the end of each index. It should not be added"
                       " explicitly in the index definition.")
    if any(f.startswith("_") for p in paths for f in p):
        raise ApiError(400, "IndexFieldNameReserved", "Reserved fields (starting with `_`) are not allowed in indexes.")
    if len(paths) + 1 > MAX_INDEX_FIELDS:
        raise ApiError(400, "IndexTooManyFields", f"Indexes may have up to {MAX_INDEX_FIELDS} fields.")
    return paths


def index_name(table: str) -> str:
    return f"{table}.{INDEX_DESCRIPTOR}"


def add_primary_key_indexes(db: Database, settings: Settings, body: dict[str, Any]) -> None:
    if "indexes" not in body:
        raise _missing("indexes")
    indexes = body["indexes"]
    if not isinstance(indexes, dict):
        raise _bad_type("indexes", "a map")
    wanted = [(table_name(stream), primary_key(pk)) for stream, pk in indexes.items()]
    with db.transaction() as tx:
        for name, _ in wanted:
            tx.table(name)
    with db.lock:
        now_ts = db.read_ts()
        for name, paths in wanted:
            existing = db.pk_paths("", name)
            if existing is not None and existing[0] == paths:
                continue
            t = db.current_tablet("", name)
            has_data = t is not None and db.store.has_live_documents(t.tablet, now_ts)
            ready_at = time.time() + (settings.index_backfill_delay_s if has_data else 0.0)
            db.store.set_pk_index("", name, json.dumps([list(p) for p in paths]), ready_at)


def primary_key_indexes_ready(db: Database, settings: Settings, body: dict[str, Any]) -> bool:
    if "tables" not in body:
        raise _missing("tables")
    tables = body["tables"]
    if not isinstance(tables, list):
        raise _bad_type("tables", "a sequence")
    ready = True
    with db.lock:
        for name in sorted({table_name(t) for t in tables}):
            found = db.pk_paths("", name)
            if found is None:
                raise ApiError(400, "MissingIndex", f"Missing index: {index_name(name)}")
            if time.time() < found[1]:
                ready = False
    return ready


def clear_tables(db: Database, settings: Settings, body: dict[str, Any]) -> None:
    if "tableNames" not in body:
        raise _missing("tableNames")
    names = body["tableNames"]
    if not isinstance(names, list):
        raise _bad_type("tableNames", "a sequence")
    mapped = [table_name(n) for n in names]
    with db.transaction() as tx:
        for name in dict.fromkeys(mapped):
            tx.replace_table(name)


@dataclass
class _Record:
    table: str
    deleted: bool
    fields: dict[str, Any]
    plain: bool  # renders the same in every format (see values.py)
    size: int  # Convex size of the fields (without _id and _creationTime)
    nesting: int


class _Walk:
    """One pass over a message's data: rename keys, check value limits, measure size and nesting."""

    def __init__(self) -> None:
        self.plain = True

    def value(self, v: Any, depth: int) -> tuple[Any, int, int]:
        t = type(v)
        if t is str:
            return v, (len(v) if v.isascii() else len(v.encode("utf-8"))) + 2, 0
        if t is float:
            if not math.isfinite(v) or (v == 0.0 and math.copysign(1.0, v) < 0):
                self.plain = False
            return v, 9, 0
        if v is None or t is bool:
            return v, 1, 0
        if depth >= MAX_VALUE_NESTING:
            raise ApiError(400, "TooNestedError",
                           f"Value is too nested (nested more than {MAX_VALUE_NESTING} levels deep)")
        if t is list:
            if len(v) > MAX_ARRAY_LEN:
                raise ApiError(400, "ArrayTooLong", f"Array length is too long ({len(v)} > maximum length {MAX_ARRAY_LEN})")
            out, size, nesting = [], 2, 0
            for item in v:
                x, n, d = self.value(item, depth + 1)
                out.append(x)
                size += n
                nesting = max(nesting, d)
            return out, size, nesting + 1
        if t is dict:
            obj, sizes, nesting = self.object(v, depth + 1)
            return obj, 2 + sum(sizes.values()), nesting + 1
        raise ApiError(400, "InvalidValue", f"Unsupported value type {t.__name__}")

    def object(self, obj: dict[str, Any], depth: int) -> tuple[dict[str, Any], dict[str, int], int]:
        """(renamed object, per stored field: name length + 1 + value size, deepest child)."""
        keys = list(obj)
        names = keys if all(_kept(k) for k in keys) else map_object_keys(keys)
        if len(set(names)) > MAX_OBJECT_FIELDS:
            raise ApiError(400, "TooManyFieldsError",
                           f"Object has too many fields ({len(set(names))} > maximum number {MAX_OBJECT_FIELDS})")
        out: dict[str, Any] = {}
        sizes: dict[str, int] = {}
        nesting = 0
        for name, value in zip(names, obj.values()):
            if len(name) > 1024:
                raise internal_error()  # the renamed key is no valid field name: a bare error
            x, n, d = self.value(value, depth)
            out[name] = x  # two renamed keys reaching one name collapse: the later wins
            sizes[name] = len(name) + 1 + n
            nesting = max(nesting, d)
        return out, sizes, nesting


_kept_names: dict[str, bool] = {}


def _kept(name: str) -> bool:
    found = _kept_names.get(name)
    if found is None:
        found = field_name(name) == name
        if len(_kept_names) < 100_000:
            _kept_names[name] = found
    return found


def _records(messages: Any) -> list[_Record]:
    if not isinstance(messages, list):
        raise _bad_type("messages", "a sequence")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _bad_type(f"messages[{i}]", "a struct")
        if "tableName" not in m:
            raise _missing("tableName")
        if "data" not in m:
            raise _missing("data")
        name = table_name(m["tableName"])
        data = m["data"]
        if not isinstance(data, dict):
            # The backend's JSON -> object conversion fails without a code: a 500.
            raise internal_error()
        walk = _Walk()
        mapped, sizes, nesting = walk.object(data, 1)
        deleted = mapped.get(CDC_DELETED) is not None
        fields = {k: v for k, v in mapped.items() if not k.startswith(CDC_PREFIX)}
        size = 2 + sum(sizes[k] for k in fields)
        out.append(_Record(name, deleted, fields, walk.plain, size, nesting + 1))
    return out


def _streams(tables: Any) -> dict[str, Paths | None]:
    if not isinstance(tables, dict):
        raise _bad_type("tables", "a map")
    out: dict[str, Paths | None] = {}
    for stream, spec in tables.items():
        if not isinstance(spec, dict):
            raise _bad_type(f"tables.{stream}", "a struct")
        if "jsonSchema" not in spec:
            raise _missing("jsonSchema")
        pk = spec.get("primaryKey")
        if pk is None:
            out[table_name(stream)] = None
            continue
        if pk == []:
            raise ApiError(400, "EmptyPrimaryKey", "Primary keys cannot be empty")
        try:
            out[table_name(stream)] = _key_paths(pk)
        except ValueError:
            # Invalid identifiers fail the backend's conversion without a code: a 500.
            raise internal_error() from None
    return out


def import_airbyte_records(
    db: Database,
    settings: Settings,
    body: dict[str, Any],
    partial_fault: Callable[[], PartialCommitFault | None] | None = None,
) -> int:
    """Apply every record; returns how many were applied.

    `partial_fault` is asked after each intermediate commit; a fault it returns ends the request
    there, the committed part staying committed (what an OCC failure or a timeout does)."""
    for field in ("tables", "messages"):
        if field not in body:
            raise _missing(field)
    records = _records(body["messages"])
    streams = _streams(body["tables"])
    for r in records:
        if r.table not in streams:
            raise ApiError(
                400, "MissingStream", f"Missing stream for table {r.table}"
            )
    with db.lock:
        for name in sorted({r.table for r in records}):
            paths = streams[name]
            if paths is None:
                continue
            found = db.pk_paths("", name)
            if found is None or found[0] != paths:
                raise ApiError(
                    400,
                    "IndexNotFoundError",
                    f"Index {index_name(name)} on fields {[list(p) for p in paths]} not found."
                    " Call add_primary_key_indexes first.",
                )
            if time.time() < found[1]:
                raise ApiError(
                    400, "IndexBackfillingError", f"Index {index_name(name)} is still backfilling. Try again later."
                )
            t = db.current_tablet("", name)
            if t is not None:
                db.pk_cache(t.tablet)
        tx = db.begin()
        try:
            for record in records:
                paths = streams[record.table]
                action = _plan(tx, record, paths)
                if _over_limits(tx, settings, record, action, paths):
                    db.commit(tx)
                    fault = partial_fault() if partial_fault is not None else None
                    if fault is not None:
                        tx = None
                        raise fault
                    tx = db.begin()
                    action = _plan(tx, record, paths)
                _apply(tx, record, action, paths)
        except BaseException:
            if tx is not None:
                db.abort(tx)
            raise
        db.commit(tx)
    return len(records)


Action = tuple[str, str | None, str | None]  # (insert | replace | delete, document id, key)


def _plan(tx: Transaction, record: _Record, paths: Paths | None) -> Action:
    """What the record does: insert, or replace / delete the one document matching its key."""
    if paths is None:
        return "insert", None, None  # append: the delete flag is ignored
    try:
        key = key_text(record.fields, paths)
    except MissingKeyValue as e:
        raise ApiError(400, "MissingPrimaryKeyValue", f"Missing value for primary key field: {e}.") from None
    tablet, _ = tx.table(record.table)  # type: ignore[misc]
    found = tx.pk_lookup(tablet, key)
    if not found:
        return "insert", None, key  # inserted even when marked deleted
    if len(found) > 1:
        raise internal_error()  # expect_at_most_one: several documents match one key
    (doc_id,) = found
    return ("delete" if record.deleted else "replace"), doc_id, key


def _over_limits(tx: Transaction, settings: Settings, record: _Record, action: Action, paths: Paths | None) -> bool:
    """True when this record would take the transaction past a limit (a pagination error)."""
    if tx.write_ops == 0:
        return False
    size = 0 if action[0] == "delete" else record.size + _SYSTEM_FIELDS_SIZE
    return (
        tx.write_ops + 1 > settings.import_tx_max_writes
        or tx.nbytes + size > settings.import_tx_max_bytes
        or (paths is not None and tx.read_intervals > TRANSACTION_MAX_READ_INTERVALS)
    )


def _check_document(record: _Record) -> None:
    if record.nesting > MAX_DOCUMENT_NESTING:
        raise ApiError(400, "InvalidDocumentError",
                       f"Document is too nested (nested {record.nesting} levels deep > maximum nesting"
                       f" {MAX_DOCUMENT_NESTING})")
    if len(record.fields) + 2 > MAX_OBJECT_FIELDS:
        raise ApiError(400, "TooManyFieldsError",
                       f"Object has too many fields ({len(record.fields) + 2} > maximum number {MAX_OBJECT_FIELDS})")


def _apply(tx: Transaction, record: _Record, action: Action, paths: Paths | None) -> None:
    kind, doc_id, key = action
    if kind == "delete":
        tx.delete(doc_id)  # type: ignore[arg-type]
        tx.pk_set(tx.table(record.table)[0], key, set())  # type: ignore[index, arg-type]
        return
    _check_document(record)
    if kind == "replace":
        tx.replace(doc_id, record.fields, checked=True, plain=record.plain, size=record.size)  # type: ignore[arg-type]
        return
    new_id = tx.insert(record.table, record.fields, checked=True, plain=record.plain, size=record.size)
    if key is not None:
        tx.pk_set(tx.table(record.table)[0], key, {new_id})  # type: ignore[index]

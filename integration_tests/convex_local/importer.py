"""The streaming import routes (what the Airbyte destination calls).

Records apply in order; a transaction commits every 16,000 writes or 16 MiB and the next one
starts, so an error later in a request leaves the earlier transactions committed (and the
current one discarded), as on the real backend.
"""

from __future__ import annotations

import collections
import json
import math
import re
import threading
import time
from typing import Any

from .database import Database, MissingKeyValue, Transaction, key_text
from .errors import ApiError, internal_error
from .naming import MAX_TABLE_NAME_LEN, is_kept_field, map_object
from .naming import table_name as convex_table_name
from .settings import Settings
from .values import MAX_ARRAY_LEN, MAX_FIELD_NAME_LEN, MAX_NESTING, MAX_OBJECT_FIELDS, check_field_name

_FIELD_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
IDENTIFIER_REQUIREMENTS = (
    "Identifiers must start with a letter and can only contain letters, digits, and underscores."
)
CDC_DELETED = "source_ab_cdc_deleted_at"
CDC_PREFIX = "source_ab_cdc"
INDEX_DESCRIPTOR = "_by_airbyte_primary_key"

Paths = tuple[tuple[str, ...], ...]


def _missing(field: str) -> ApiError:
    return ApiError(
        400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: missing field `{field}`"
    )


def _bad_type(where: str, expected: str) -> ApiError:
    return ApiError(
        400, "BadJsonBody", f"Failed to deserialize the JSON body into the target type: {where}: expected {expected}"
    )


def table_name(raw: Any) -> str:
    """An Airbyte stream name as the table it lands in."""
    if not isinstance(raw, str):
        raise _bad_type("table name", "a string")
    name = convex_table_name(raw)
    if len(name) > MAX_TABLE_NAME_LEN or not _TABLE_NAME.match(name):
        # The backend fails this with a plain error ("Failed to create a valid identifier."): a 500.
        raise internal_error()
    return name


def primary_key(raw: Any) -> Paths:
    """Validated primary-key field paths (not renamed: they name stored fields)."""
    ok = isinstance(raw, list) and raw and all(
        isinstance(p, list) and p and all(isinstance(f, str) and _FIELD_IDENTIFIER.match(f) for f in p) for p in raw
    )
    if not ok:
        raise ApiError(400, "InvalidPrimaryKey", f"Invalid primary key: {IDENTIFIER_REQUIREMENTS} {json.dumps(raw)}.")
    return tuple(tuple(p) for p in raw)


def index_name(table: str) -> str:
    return f"{table}.{INDEX_DESCRIPTOR}"


class WriteLimiter:
    """Bytes written in the last second; above the configured rate, 429 TooManyWrites."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: collections.deque[tuple[float, int]] = collections.deque()

    def admit(self, nbytes: int, max_per_s: float | None) -> None:
        if max_per_s is None:
            return
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0][0] <= now - 1.0:
                self._window.popleft()
            recent = sum(n for _, n in self._window)
            if self._window and recent + nbytes > max_per_s:
                raise ApiError(
                    429,
                    "TooManyWrites",
                    f"Too many bytes written in a short period: the limit is {int(max_per_s)} bytes per second."
                    " Retry with backoff.",
                )
            self._window.append((now, nbytes))


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


def _records(messages: Any) -> list[tuple[str, bool, dict[str, Any], bool]]:
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
        state = [True]
        mapped = _convert_object(data, 1, state)
        deleted = mapped.get(CDC_DELETED) is not None
        fields = {k: v for k, v in mapped.items() if not k.startswith(CDC_PREFIX)}
        out.append((name, deleted, fields, state[0]))
    return out


_kept_names: dict[str, bool] = {}


def _kept(name: str) -> bool:
    found = _kept_names.get(name)
    if found is None:
        found = is_kept_field(name)
        if len(_kept_names) < 100_000:
            _kept_names[name] = found
    return found


def _convert_object(obj: dict[str, Any], depth: int, state: list[bool]) -> dict[str, Any]:
    """Rename keys (the naming rule) and check limits in one pass; state[0] &= "plain"."""
    if len(obj) > MAX_OBJECT_FIELDS:
        raise ApiError(400, "InvalidValue", f"Object with {len(obj)} fields exceeds the maximum of {MAX_OBJECT_FIELDS}")
    if all(_kept(k) for k in obj):
        out = {k: _convert(v, depth, state) for k, v in obj.items()}
    else:
        out = {_k: _convert(v, depth, state) for _k, v in map_object_keys(obj).items()}
    for k in out:
        if len(k) > MAX_FIELD_NAME_LEN:
            check_field_name(k, top_level=False)
    return out


def map_object_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with its keys renamed (values untouched)."""
    renamed = map_object({k: i for i, k in enumerate(obj)})
    values = list(obj.values())
    return {k: values[i] for k, i in renamed.items()}


def _convert(v: Any, depth: int, state: list[bool]) -> Any:
    t = type(v)
    if t is float:
        if not math.isfinite(v) or (v == 0.0 and math.copysign(1.0, v) < 0):
            state[0] = False
        return v
    if t is str or t is bool or v is None:
        return v
    if depth >= MAX_NESTING:
        raise ApiError(400, "InvalidValue", f"Value is nested more than {MAX_NESTING} levels deep")
    if t is list:
        if len(v) > MAX_ARRAY_LEN:
            raise ApiError(400, "InvalidValue", f"Array of {len(v)} elements exceeds the maximum of {MAX_ARRAY_LEN}")
        return [_convert(x, depth + 1, state) for x in v]
    if t is dict:
        return _convert_object(v, depth + 1, state)
    raise ApiError(400, "InvalidValue", f"Unsupported value type {t.__name__}")


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
            out[table_name(stream)] = primary_key(pk)
        except ApiError:
            # Invalid key paths here fail the backend's conversion without a code: a 500.
            raise internal_error() from None
    return out


def import_airbyte_records(db: Database, settings: Settings, body: dict[str, Any]) -> int:
    """Apply every record; returns how many were applied."""
    for field in ("tables", "messages"):
        if field not in body:
            raise _missing(field)
    records = _records(body["messages"])
    streams = _streams(body["tables"])
    for name, _, _, _ in records:
        if name not in streams:
            raise ApiError(
                400, "MissingStream", f"Table {name} is missing from the streams in the request ({sorted(streams)})"
            )
    used = {name for name, _, _, _ in records}
    with db.lock:
        for name in sorted(used):
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
            for name, deleted, fields, plain in records:
                _apply(tx, name, deleted, fields, plain, streams[name])
                if tx.write_count >= settings.import_tx_max_writes or tx.nbytes >= settings.import_tx_max_bytes:
                    db.commit(tx)
                    tx = db.begin()
        except BaseException:
            db.abort(tx)
            raise
        db.commit(tx)
    return len(records)


def _apply(tx: Transaction, name: str, deleted: bool, fields: dict[str, Any], plain: bool, paths: Paths | None) -> None:
    if paths is None:
        tx.insert(name, fields, checked=True, plain=plain)  # append: the delete flag is ignored
        return
    try:
        key = key_text(fields, paths)
    except MissingKeyValue as e:
        raise ApiError(400, "MissingPrimaryKeyValue", f"Missing value for primary key field {e} in table {name}") from None
    tablet, _ = tx.table(name)  # type: ignore[misc]
    found = tx.pk_lookup(tablet, key)
    if not found:
        new_id = tx.insert(name, fields, checked=True, plain=plain)  # inserted even when marked deleted
        tx.pk_set(tablet, key, {new_id})
    elif len(found) == 1:
        (doc_id,) = found
        if deleted:
            tx.delete(doc_id)
            tx.pk_set(tablet, key, set())
        else:
            tx.replace(doc_id, fields, checked=True, plain=plain)
    else:
        raise internal_error()

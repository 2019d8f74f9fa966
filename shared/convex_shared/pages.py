"""Wire shapes of Convex answers, decoded and checked strictly.

A 200 whose body is not the expected shape (a proxy's page, a different service behind the
URL) raises ConvexBadResponseError, which the retry loop treats as transient. Decoding uses
orjson: snapshot pages of 1024 documents are the hot path of a large export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import ConvexBadResponseError

_NOT_CONVEX = (
    "The server answered with something that is not a Convex API response. If this keeps happening, check that "
    "deployment_url is the deployment's URL (https://<name>.convex.cloud) and not another site."
)


@dataclass(frozen=True, slots=True)
class SnapshotPage:
    """One page of `list_snapshot`: documents of one table, and where to continue."""

    values: list[dict[str, Any]]
    snapshot: int
    cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class DeltaPage:
    """One page of `document_deltas`: changes after the cursor; save `cursor` on every page."""

    values: list[dict[str, Any]]
    cursor: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class DataSyncPage:
    """One page of `/api/v1/data/sync`, its values flattened into rows shaped like document_deltas' ones
    (the document's fields plus `_component`, `_table`, `_ts`, `_deleted`).

    `truncates` lists (component, table) whose earlier rows are gone (cleared, replaced, or newly
    synced); they apply before `values`. `status` is `snapshotting`, `stale` or `upToDate`;
    `snapshot_ts` is the timestamp the synced data is consistent at (None while snapshotting).
    `next_cursor` is always there: the sync is an endless stream."""

    values: list[dict[str, Any]]
    truncates: list[tuple[str, str]]
    status: str
    snapshot_ts: int | None
    sync_id: str
    next_cursor: str


_DATA_SYNC_STATUSES = ("snapshotting", "stale", "upToDate")


def bad_shape(what: str) -> ConvexBadResponseError:
    """The error for a body that decoded but is not shaped as expected."""
    return ConvexBadResponseError(f"{_NOT_CONVEX} ({what})", reason=f"not a Convex response: {what}")


def decode_json(body: bytes) -> Any:
    """The JSON value of a body, or ConvexBadResponseError with a short excerpt."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _raise_not_json(body)


def _raise_not_json(body: bytes) -> Any:
    head = body.lstrip()[:1]
    if not head:
        raise bad_shape("the body is empty") from None
    if head in (b"{", b"["):
        # Broken JSON is most likely a cut-off page of documents: quoting it would put the
        # deployment's data into logs, so say only how much arrived.
        raise bad_shape(f"the body is malformed or cut-off JSON ({len(body)} bytes)") from None
    excerpt = " ".join(body[:120].decode("utf-8", "replace").split())  # an HTML or text page from a proxy
    raise bad_shape(f"the body is not JSON: {excerpt!r}") from None


def _object(body: bytes) -> dict[str, Any]:
    value = decode_json(body)
    if not isinstance(value, dict):
        raise bad_shape(f"expected a JSON object, got {type(value).__name__}")
    return value


def _field(obj: dict[str, Any], name: str, kinds: tuple[type, ...], nullable: bool = False) -> Any:
    if name not in obj:
        raise bad_shape(f"missing field {name!r}")
    value = obj[name]
    if value is None and nullable:
        return None
    # bool is an int subclass: a boolean where a number belongs is a wrong shape.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise bad_shape(f"field {name!r} is {type(value).__name__}")
    return value


def _documents(obj: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = _field(obj, "values", (list,))
    for value in values:
        if not isinstance(value, dict):
            raise bad_shape(f"a value in 'values' is {type(value).__name__}, not an object")
    return values


def parse_snapshot_page(body: bytes) -> SnapshotPage:
    """`{"values": [...], "snapshot": int, "cursor": str|null, "hasMore": bool}`."""
    obj = _object(body)
    return SnapshotPage(
        values=_documents(obj),
        snapshot=_field(obj, "snapshot", (int,)),
        cursor=_field(obj, "cursor", (str,), nullable=True),
        has_more=_field(obj, "hasMore", (bool,)),
    )


def parse_delta_page(body: bytes) -> DeltaPage:
    """`{"values": [...], "cursor": int, "hasMore": bool}`."""
    obj = _object(body)
    return DeltaPage(
        values=_documents(obj),
        cursor=_field(obj, "cursor", (int,)),
        has_more=_field(obj, "hasMore", (bool,)),
    )


def parse_data_sync_page(body: bytes) -> DataSyncPage:
    """`{"status": {"type", "snapshotTs"?}, "truncates": [{"component", "table"}], "values": [{"component",
    "table", "ts", "deleted", "value": {...}}], "syncId": str, "pagination": {"hasMore", "nextCursor"}}`."""
    obj = _object(body)
    status = _field(obj, "status", (dict,))
    kind = _field(status, "type", (str,))
    if kind not in _DATA_SYNC_STATUSES:
        raise bad_shape(f"unknown data sync status {kind[:40]!r}")
    snapshot_ts = _field(status, "snapshotTs", (int,)) if kind != "snapshotting" else None
    truncates = []
    for entry in _field(obj, "truncates", (list,)):
        if not isinstance(entry, dict):
            raise bad_shape("a truncate is not an object")
        truncates.append((_field(entry, "component", (str,)), _field(entry, "table", (str,))))
    rows = []
    for entry in _field(obj, "values", (list,)):
        if not isinstance(entry, dict):
            raise bad_shape("a value in 'values' is not an object")
        row = _field(entry, "value", (dict,))
        row["_component"] = _field(entry, "component", (str,))
        row["_table"] = _field(entry, "table", (str,))
        row["_ts"] = _field(entry, "ts", (int,))
        row["_deleted"] = _field(entry, "deleted", (bool,))
        rows.append(row)
    pagination = _field(obj, "pagination", (dict,))
    return DataSyncPage(
        rows, truncates, kind, snapshot_ts, _field(obj, "syncId", (str,)), _field(pagination, "nextCursor", (str,))
    )


def parse_data_sync_cursor(body: bytes) -> str:
    """`{"cursor": str}` (data_sync_cursor_from_deltas)."""
    cursor: str = _field(_object(body), "cursor", (str,))
    return cursor


def parse_object(body: bytes) -> dict[str, Any]:
    """Any JSON object (json_schemas)."""
    return _object(body)


def parse_schemas_by_component(body: bytes) -> dict[str, Any]:
    """`{"<component path>": {"<table>": schema}}` (json_schemas with byComponent=true)."""
    schemas = _object(body)
    for component, tables in schemas.items():
        if not isinstance(tables, dict):
            raise bad_shape(f"component {component!r} maps to {type(tables).__name__}, not an object")
    return schemas


def parse_table_column_names(body: bytes) -> dict[str, list[tuple[str, list[str]]]]:
    """`{"byComponent": {"<component path>": [{"name": "users", "columns": ["_id", ...]}]}}`
    -> `{component: [(table, columns)]}` (get_table_column_names)."""
    by_component = _field(_object(body), "byComponent", (dict,))
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for component, tables in by_component.items():
        if not isinstance(tables, list):
            raise bad_shape(f"component {component!r} maps to {type(tables).__name__}, not a list")
        listed = out.setdefault(component, [])
        for table in tables:
            if not isinstance(table, dict):
                raise bad_shape(f"a table of component {component!r} is {type(table).__name__}, not an object")
            name = _field(table, "name", (str,))
            columns = _field(table, "columns", (list,))
            if not all(isinstance(column, str) for column in columns):
                raise bad_shape(f"table {name!r} lists a column that is not a string")
            listed.append((name, columns))
    return out


def parse_null(body: bytes) -> None:
    """The literal `null` test_streaming_export_connection answers with."""
    value = decode_json(body)
    if value is not None:
        raise bad_shape(f"expected null, got {type(value).__name__}")


def parse_indexes_ready(body: bytes) -> bool:
    """`{"indexesReady": bool}`."""
    return bool(_field(_object(body), "indexesReady", (bool,)))


def parse_empty(body: bytes) -> None:
    """Import routes answer 200 with an empty body; anything a 2xx carries is accepted."""
    return

"""The streaming export routes: json_schemas, list_snapshot, document_deltas, column names.

Pages are assembled from stored text: each value is `{"_component":..,"_table":..,"_ts":..,`
followed by the stored document text, so a 1024-document page costs string joins, not
per-value encoding (formats other than `json` re-encode only documents that need it).
"""

from __future__ import annotations

import json
from typing import Any

from . import ids, shapes
from .args import Args
from .database import Database
from .errors import ApiError, internal_error
from .selection import ALL_COLUMNS, Columns, from_args
from .settings import Settings
from .storage import DELETE, Tablet
from .values import RENDERERS, dumps, parse_format, stored_to_python

TRUE, FALSE = "true", "false"


def _document_text(clean: str, encoded: str | None, export: str | None, fmt: str, columns: Columns,
                   generic: bool = False) -> str:
    """The stored document rendered in `fmt`, with unselected columns removed; `generic` renders it
    value by value even when the stored text would do (Settings.page_render)."""
    if columns.everything and not generic:
        if encoded is None or fmt == "clean":
            return clean
        if fmt == "encoded":
            return encoded
        if fmt == "export" and export is not None:
            return export
    doc = stored_to_python(clean, encoded)
    if not columns.everything:
        doc = {k: v for k, v in doc.items() if columns.includes(k)}
    return dumps(RENDERERS[fmt](doc))


def is_system_table(name: str) -> bool:
    """System tables (`_storage`, `_scheduled_functions`, ...) are never exported."""
    return name.startswith("_")


def _user_tables(tablets: list[Tablet]) -> list[Tablet]:
    return [t for t in tablets if not is_system_table(t.name)]


def _prefix(t: Tablet, ts: int) -> str:
    return '{"_component":' + dumps(t.component) + ',"_table":' + dumps(t.name) + ',"_ts":' + str(ts)


def _value(prefix: str, doc_text: str) -> str:
    return prefix + "," + doc_text[1:] if len(doc_text) > 2 else prefix + "}"


# -- list_snapshot ----------------------------------------------------------------------------------
def _parse_cursor(raw: str, settings: Settings) -> tuple[str, str]:
    try:
        parsed = json.loads(raw)
        tablet, doc_id = parsed["tablet"], parsed["id"]
        if not isinstance(tablet, str) or not isinstance(doc_id, str) or len(tablet) != ids.TABLET_ID_LEN:
            raise ValueError
        if ids.decode_id(doc_id) is None:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        if settings.invalid_snapshot_cursor_status == 500:
            raise internal_error() from None  # before 2026-08-17 the parse error had no metadata
        raise ApiError(
            400,
            "InvalidListSnapshotCursor",
            "Invalid value for the `cursor` argument of list_snapshot. Use a `cursor` returned by a previous "
            "list_snapshot call, and treat it as an opaque value.",
        ) from None
    return tablet, doc_id


def _cursor(tablet: str, doc_id: str) -> str:
    return json.dumps({"tablet": tablet, "id": doc_id}, separators=(",", ":"))


def list_snapshot(db: Database, settings: Settings, args: Args) -> str:
    snapshot = args.int("snapshot")
    raw_cursor = args.str("cursor")
    fmt = parse_format(args.str("format"))
    selection = from_args(args.values, settings.ignore_table_name, allow_selection=not args.from_query,
                          table_parameter=settings.table_parameter)
    cursor = _parse_cursor(raw_cursor, settings) if raw_cursor is not None else None
    with db.lock:
        now = db.read_ts()
        if snapshot is None:
            snapshot = now
        elif snapshot < db.clock.now_ns() - settings.snapshot_max_age_ns:
            raise ApiError(400, "SnapshotTooOld", f"Snapshot value {snapshot} is too far in the past.")
        elif snapshot > now:
            raise ApiError(400, "SnapshotTooNew", f"Snapshot value {snapshot} is in the future.")
        elif settings.snapshot_retention_ns is not None and snapshot < db.clock.now_ns() - settings.snapshot_retention_ns:
            raise ApiError(503, "InternalServerError", "Your request couldn't be completed. Try again later.")
        tables = [t for t in _user_tables(db.tablets_at(snapshot)) if selection.includes_table(t.component, t.name)]
        after_id = ""
        if cursor is not None:
            cursor_tablet, cursor_id = cursor
            tables = [t for t in tables if t.tablet >= cursor_tablet]
            if tables and tables[0].tablet == cursor_tablet:
                after_id = cursor_id
        if not tables:
            return '{"values":[],"snapshot":' + str(snapshot) + ',"cursor":null,"hasMore":false}'
        table = tables[0]
        limit = settings.snapshot_page_size
        rows = db.store.snapshot_rows(table.tablet, after_id, snapshot, limit + 1)
    columns = selection.columns(table.component, table.name) or ALL_COLUMNS
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor: str | None = _cursor(table.tablet, rows[-1][0])
    elif len(tables) > 1:
        following = tables[1]
        next_cursor = _cursor(following.tablet, ids.min_id(following.number))
    else:
        next_cursor = None
    generic = settings.page_render == "generic"
    values = [_value(_prefix(table, ts), _document_text(clean, enc, exp, fmt, columns, generic))
              for _id, ts, clean, enc, exp in rows]
    return (
        '{"values":[' + ",".join(values) + '],"snapshot":' + str(snapshot) + ',"cursor":'
        + (dumps(next_cursor) if next_cursor is not None else "null")
        + ',"hasMore":' + (TRUE if next_cursor is not None else FALSE) + "}"
    )


# -- document_deltas --------------------------------------------------------------------------------
def document_deltas(db: Database, settings: Settings, args: Args) -> str:
    cursor = args.int("cursor")
    fmt = parse_format(args.str("format"))
    selection = from_args(args.values, settings.ignore_table_name, allow_selection=not args.from_query,
                          table_parameter=settings.table_parameter)
    if cursor is None:
        raise ApiError(400, "DocumentDeltasCursorRequired", "/api/document_deltas requires a cursor")
    with db.lock:
        now = db.read_ts()
        oldest = db.clock.now_ns() - settings.delta_retention_ns
        if cursor < oldest:
            raise ApiError(
                400,
                "InvalidWindowToReadDocuments",
                f"Trying to read documents at timestamp {cursor} older than the database's retention window"
                f" (min timestamp {oldest}). Please perform a full sync of the connector by clearing its"
                " state and starting over.",
            )
        limit = settings.deltas_page_rows
        rows = db.store.log_rows(cursor, now, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        if rows:
            # Never split a transaction: take every remaining row of the last timestamp.
            last = rows[-1]
            rows.extend(db.store.log_rows_at(last.ts, last.id))
            has_more = db.store.log_has_rows(last.ts, now)
        new_cursor = rows[-1].ts if has_more else max(now, cursor)
        tablets = {t.tablet: t for t in db.all_tablets()}
    values = []
    generic = settings.page_render == "generic"
    for r in rows:
        t = tablets.get(r.tablet)
        # Rows of tables deleted or cleared since are skipped: no delete events for them.
        if t is None or t.deleted_ts is not None or is_system_table(t.name):
            continue
        columns = selection.columns(t.component, t.name)
        if columns is None:
            continue
        prefix = _prefix(t, r.ts)
        if r.kind == DELETE:
            values.append(prefix + ',"_deleted":true,"_id":' + dumps(r.id) + "}")
        else:
            values.append(_value(prefix + ',"_deleted":false', _document_text(r.clean, r.encoded, r.export, fmt, columns, generic)))  # type: ignore[arg-type]
    return (
        '{"values":[' + ",".join(values) + '],"cursor":' + str(new_cursor)
        + ',"hasMore":' + (TRUE if has_more else FALSE) + "}"
    )


# -- json_schemas / get_table_column_names ----------------------------------------------------------
def json_schemas(db: Database, settings: Settings, args: Args) -> str:
    delta_schema = args.bool("deltaSchema")
    by_component = args.bool("byComponent")
    fmt = parse_format(args.str("format"))
    out: dict[str, Any] = {}
    with db.lock:
        now = db.read_ts()
        tables = _user_tables(db.tablets_at(now))
        components = db.components()
        computed = [(t, db.table_shape(t.tablet, now)) for t in tables]
    for component in components:
        target = out.setdefault(component, {}) if by_component else out
        for t, shape in computed:
            if t.component != component:
                continue
            schema = shapes.table_schema(shape, t.name, fmt, db.table_name_of_number)
            if schema is None:
                raise ApiError(400, "NoSchemaForExport", "There is no active schema, which is needed for streaming export.")
            if delta_schema:
                schema["properties"].update(
                    {
                        "_table": {"type": "string"},
                        "_component": {"type": "string"},
                        "_ts": {"type": "integer"},
                        "_deleted": {"type": "boolean"},
                    }
                )
            target[t.name] = schema
    return dumps(out)


def get_table_column_names(db: Database, settings: Settings, args: Args) -> str:
    by_component: dict[str, list[dict[str, Any]]] = {}
    with db.lock:
        now = db.read_ts()
        for t in sorted(_user_tables(db.tablets_at(now)), key=lambda t: (t.component, t.name)):
            columns = shapes.top_level_columns(db.table_shape(t.tablet, now))
            by_component.setdefault(t.component, []).append({"name": t.name, "columns": columns})
    # Struct fields keep their declared order on the wire (name, then columns).
    return json.dumps({"byComponent": by_component}, ensure_ascii=False, separators=(",", ":"))

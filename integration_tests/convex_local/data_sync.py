"""The data sync API: `POST /api/v1/data/sync`, `GET /api/v1/data/list_active_syncs` and
`POST /api/data_sync_cursor_from_deltas`.

Written from the backend (convex-backend 2026-08-22): the routes and their checks from
crates/local_backend/src/streaming_export.rs, the wire types from
crates/common/src/types/streaming_export/mod.rs, the page semantics from
crates/streaming_export/src/lib.rs and crates/table_iteration/src/data_sync.rs:

- A cursor captures `synced_ts`, the tablets whose id space was walked at it (`synced`), and the
  tablet being walked with the last id walked (`current`). A page either walks `current` by id at
  `synced_ts` (when `synced_ts` is within `data_sync_by_id_freshness_ns` of now) or walks the
  document log after `synced_ts`, emitting only captured documents and never splitting a
  transaction, and moves `synced_ts` to the last timestamp fully read (now when caught up).
- Target tablets: active user tables the selection includes, in tablet id order. The cursor is
  reconciled with them on every page: tablets gone or deselected are dropped, so a cleared or
  replaced table (a new tablet under the same name) is walked from scratch.
- `truncates`: every (component, table) whose tablet entered the cursor on this page.
- `status`: `snapshotting` while a tablet is being walked, else `stale` (behind now) or `upToDate`.
- Values are always `export_json`; a tombstone's `value` is only `_id`.
- Errors: an unreadable token is `400 InvalidDataSyncCursor`; a position outside the document
  retention window is `400 DataSyncCursorExpired`; a bad selection `400 InvalidDataSyncSelection`.

The cursor is an opaque token (the backend encrypts a protobuf; here JSON signed with a key kept in
the database, so tokens survive a server restart and cannot be forged or edited).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from .args import Args
from .database import Database
from .errors import ApiError
from .export import _document_text, _user_tables
from .selection import ALL_COLUMNS, EVERYTHING, Selection, parse_selection
from .settings import Settings
from .storage import DELETE, Revision, Tablet
from .values import dumps

#: The routes of this API (absent on older backends, see Settings.data_sync_api).
ROUTES = frozenset({"/api/v1/data/sync", "/api/v1/data/list_active_syncs", "/api/data_sync_cursor_from_deltas"})

_KEY_META = "data_sync_key"
_PROGRESS_META = "data_sync_progress"
_ACTIVE_MS = 3 * 86_400 * 1000  # a sync is active for 3 days after its last page
_EXPIRED = ApiError(
    400,
    "DataSyncCursorExpired",
    "The cursor is outside the deployment's data retention window and can no longer be resumed. Restart the sync "
    "from scratch by calling /data/sync without a cursor.",
)


# -- the opaque cursor ------------------------------------------------------------------------------
def _key(db: Database) -> bytes:
    key = db.store.get_meta(_KEY_META)
    if key is None:
        key = secrets.token_hex(32)
        db.store.set_meta(_KEY_META, key)
    return bytes.fromhex(key)


def _encode(db: Database, cursor: dict[str, Any]) -> str:
    payload = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(db), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def _decode(db: Database, token: str, message: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        mac, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, hmac.new(_key(db), payload, hashlib.sha256).digest()[:16]):
            raise ValueError("bad signature")
        cursor = json.loads(payload)
        if not isinstance(cursor, dict) or not isinstance(cursor.get("synced_ts"), int):
            raise ValueError("bad payload")
        return cursor
    except (ValueError, TypeError, UnicodeError):
        raise ApiError(400, "InvalidDataSyncCursor", message) from None


def _sync_id(args: Args) -> str:
    # The backend tags a cold start with the integration from the Convex-Client header.
    client = (args.client or "").rsplit("-", 1)[0]
    prefix = {"airbyte-export": "airbyte-", "fivetran-export": "fivetran-", "fivetran-import": "fivetran-"}
    return prefix.get(client, "") + str(uuid.uuid4())


def _selection(args: Args) -> Selection:
    raw = args.get("selection")
    if raw is None:
        return EVERYTHING
    try:
        return parse_selection(raw)
    except ApiError as err:
        if err.status == 500:  # excluding `_id`: a caller error on this API
            raise ApiError(400, "InvalidDataSyncSelection", "Invalid selection: _id cannot be excluded") from None
        raise


def _targets(db: Database, now: int, selection: Selection) -> list[Tablet]:
    return sorted((t for t in _user_tables(db.tablets_at(now)) if selection.includes_table(t.component, t.name)),
                  key=lambda t: t.tablet)


def _check_retention(db: Database, settings: Settings, ts: int) -> None:
    if ts < db.clock.now_ns() - settings.delta_retention_ns:
        raise _EXPIRED


# -- POST /api/v1/data/sync -------------------------------------------------------------------------
def data_sync(db: Database, settings: Settings, args: Args) -> str:
    token = args.str("cursor")
    selection = _selection(args)
    with db.lock:
        cursor = _decode(db, token, "Could not parse the data sync cursor") if token is not None else None
        latest = db.read_ts()
        targets = _targets(db, latest, selection)
        by_tablet = {t.tablet: t for t in targets}
        if cursor is None:
            cursor = {"synced_ts": latest, "synced": [], "current": None, "sync_id": _sync_id(args), "n": 0,
                      "table_n": 0}
        tracked_before = set(cursor["synced"]) | ({cursor["current"][0]} if cursor["current"] else set())
        _reconcile(cursor, targets)
        if cursor["synced_ts"] > latest:
            raise ApiError(400, "InvalidDataSyncCursor", "data sync cursor is ahead of the deployment's latest timestamp")
        _check_retention(db, settings, cursor["synced_ts"])
        fresh = latest - cursor["synced_ts"] < settings.data_sync_by_id_freshness_ns
        if cursor["current"] is not None and fresh:
            values = _by_id_page(db, settings, cursor, by_tablet, targets)
        else:
            values = _ts_page(db, settings, cursor, by_tablet, latest)
        tracked = set(cursor["synced"]) | ({cursor["current"][0]} if cursor["current"] else set())
        truncates = sorted({(by_tablet[t].component, by_tablet[t].name) for t in tracked - tracked_before})
        status = _status(cursor, latest)
        _record_progress(db, cursor, status, len(targets), by_tablet)
        next_cursor = _encode(db, cursor)
    return (
        '{"status":' + dumps(status) + ',"truncates":'
        + dumps([{"component": c, "table": t} for c, t in truncates])
        + ',"values":[' + ",".join(values) + '],"syncId":' + dumps(cursor["sync_id"])
        + ',"pagination":{"hasMore":true,"nextCursor":' + dumps(next_cursor) + "}}"
    )


def _next_table(cursor: dict[str, Any], targets: list[Tablet]) -> list[Any] | None:
    synced = set(cursor["synced"])
    following = next((t for t in targets if t.tablet not in synced), None)
    return [following.tablet, None] if following is not None else None


def _reconcile(cursor: dict[str, Any], targets: list[Tablet]) -> None:
    """table_iteration/src/data_sync.rs `reconcile_target_tables`."""
    wanted = {t.tablet for t in targets}
    cursor["synced"] = [t for t in cursor["synced"] if t in wanted]
    current = cursor["current"]
    if current is not None and current[0] not in wanted:
        cursor["current"] = _next_table(cursor, targets)
        cursor["table_n"] = 0
    elif current is None:
        cursor["current"] = _next_table(cursor, targets)
        cursor["table_n"] = 0


def _by_id_page(db: Database, settings: Settings, cursor: dict[str, Any], by_tablet: dict[str, Tablet],
                targets: list[Tablet]) -> list[str]:
    tablet_id, after = cursor["current"]
    table = by_tablet[tablet_id]
    limit = settings.data_sync_page_size
    rows = db.store.snapshot_rows(tablet_id, after or "", cursor["synced_ts"], limit)
    generic = settings.page_render == "generic"
    values = [_document(table, ts, export, clean, encoded, generic) for _id, ts, clean, encoded, export in rows]
    cursor["n"] += len(rows)
    cursor["table_n"] += len(rows)
    if len(rows) < limit:  # reached the end of the table (a full page may still have more)
        cursor["synced"] = sorted(set(cursor["synced"]) | {tablet_id})
        cursor["current"] = _next_table(cursor, targets)
        cursor["table_n"] = 0
    else:
        cursor["current"] = [tablet_id, rows[-1][0]]
    return values


def _captured(cursor: dict[str, Any], tablet: str, doc_id: str) -> bool:
    if tablet in cursor["synced"]:
        return True
    current = cursor["current"]
    return current is not None and current[0] == tablet and current[1] is not None and doc_id <= current[1]


def _log_rows(db: Database, after_ts: int, upto_ts: int, tablet: str | None, limit: int) -> list[Revision]:
    """Log rows after `after_ts`, in (ts, id) order; of one tablet only when the sync selects one table
    (the backend then reads `load_documents_from_table`, so only that table's rows count as read)."""
    if tablet is None:
        return db.store.log_rows(after_ts, upto_ts, limit)
    rows = db.store.conn.execute(
        "SELECT tablet, id, ts, kind, clean, encoded, export FROM revisions WHERE tablet = ? AND ts > ? AND ts <= ?"
        " ORDER BY ts, id LIMIT ?", (tablet, after_ts, upto_ts, limit)).fetchall()
    return [Revision(*r) for r in rows]


def _ts_page(db: Database, settings: Settings, cursor: dict[str, Any], by_tablet: dict[str, Tablet],
             latest: int) -> list[str]:
    """table_iteration/src/data_sync.rs `ts_page`: whole transactions only; a page stops at the first
    complete timestamp once `data_sync_max_rows_read` rows were read or `data_sync_page_size` entries
    emitted (a first transaction bigger than that is read whole); caught up, `synced_ts` = latest."""
    single = next(iter(by_tablet)) if len(by_tablet) == 1 else None
    budget = settings.data_sync_max_rows_read
    rows = _log_rows(db, cursor["synced_ts"], latest, single, budget + 1)
    committed: list[Revision] = []
    batch: list[Revision] = []
    current_ts: int | None = None
    new_synced_ts = latest
    rows_read = 0
    hit_limit = False
    for index, r in enumerate(rows):
        if r.ts != current_ts:
            if current_ts is not None:
                committed.extend(batch)
                batch = []
                new_synced_ts = current_ts
                if rows_read >= budget or len(committed) >= settings.data_sync_page_size:
                    hit_limit = True
                    break
            current_ts = r.ts
        rows_read += 1
        if r.tablet in by_tablet and _captured(cursor, r.tablet, r.id):
            batch.append(r)
        if rows_read >= budget and committed:
            hit_limit = True  # cut before this partial transaction; it is read again next page
            break
        if index == len(rows) - 1 and len(rows) > budget:
            # Only one transaction so far and it is bigger than the budget: read the rest of it.
            rest = [x for x in db.store.log_rows_at(r.ts, r.id) if single is None or x.tablet == single]
            batch.extend(x for x in rest if x.tablet in by_tablet and _captured(cursor, x.tablet, x.id))
            committed.extend(batch)
            batch = []
            new_synced_ts = r.ts
            hit_limit = True
    if not hit_limit:
        committed.extend(batch)
        new_synced_ts = latest
    values = []
    generic = settings.page_render == "generic"
    for r in committed:
        table = by_tablet[r.tablet]
        values.append(_tombstone(table, r.ts, r.id) if r.kind == DELETE
                      else _document(table, r.ts, r.export, r.clean, r.encoded, generic))
    cursor["synced_ts"] = new_synced_ts
    cursor["n"] += len(values)
    return values


def _meta(table: Tablet, ts: int, deleted: bool) -> str:
    return ('{"component":' + dumps(table.component) + ',"table":' + dumps(table.name) + ',"ts":' + str(ts)
            + ',"deleted":' + ("true" if deleted else "false"))


def _document(table: Tablet, ts: int, export: str | None, clean: str | None, encoded: str | None,
              generic: bool = False) -> str:
    text = _document_text(clean or "{}", encoded, export, "export", ALL_COLUMNS, generic)
    return _meta(table, ts, False) + ',"value":' + text + "}"


def _tombstone(table: Tablet, ts: int, doc_id: str) -> str:
    return _meta(table, ts, True) + ',"value":{"_id":' + dumps(doc_id) + "}}"


def _status(cursor: dict[str, Any], latest: int) -> dict[str, Any]:
    if cursor["current"] is not None:
        return {"type": "snapshotting"}
    if cursor["synced_ts"] < latest:
        return {"type": "stale", "snapshotTs": cursor["synced_ts"]}
    return {"type": "upToDate", "snapshotTs": cursor["synced_ts"]}


# -- progress and GET /api/v1/data/list_active_syncs ------------------------------------------------
def _progress(db: Database) -> dict[str, Any]:
    raw = db.store.get_meta(_PROGRESS_META)
    return json.loads(raw) if raw else {}


def _record_progress(db: Database, cursor: dict[str, Any], status: dict[str, Any], total_tables: int,
                     by_tablet: dict[str, Tablet]) -> None:
    """Upsert the sync's progress row, at most every 5 s unless its state changes (the backend's
    DATA_SYNC_PROGRESS_WRITE_INTERVAL)."""
    rows = _progress(db)
    now_ms = db.clock.now_ns() // 1_000_000
    previous = rows.get(cursor["sync_id"])
    if previous and previous["status"]["type"] == status["type"] and now_ms - previous["lastUpdated"] < 5000:
        return
    state: dict[str, Any]
    if status["type"] == "snapshotting":
        current = by_tablet[cursor["current"][0]]
        state = {"type": "snapshotting", "numTablesSynced": len(cursor["synced"]), "totalTables": total_tables,
                 "currentComponent": current.component, "currentTable": current.name,
                 "numDocumentsInCurrentTable": cursor["table_n"],
                 "totalDocumentsInCurrentTable": _count(db, current.tablet),
                 "numDocumentsSynced": cursor["n"],
                 "totalDocuments": sum(_count(db, t) for t in by_tablet)}
    else:
        state = {"type": status["type"], "totalTables": len(cursor["synced"]), "numDocumentsSynced": cursor["n"],
                 "syncedTs": cursor["synced_ts"]}
    rows[cursor["sync_id"]] = {"lastUpdated": now_ms, "status": state}
    db.store.set_meta(_PROGRESS_META, json.dumps(rows))


def _count(db: Database, tablet: str) -> int:
    """Live documents of a tablet now (the backend reads its table summaries)."""
    row = db.store.conn.execute(
        "SELECT COUNT(*) FROM revisions r WHERE r.tablet = ?1 AND r.kind != 2"
        " AND r.ts = (SELECT MAX(x.ts) FROM revisions x WHERE x.tablet = ?1 AND x.id = r.id)", (tablet,)).fetchone()
    return int(row[0])


def list_active_syncs(db: Database, settings: Settings, args: Args) -> str:
    limit = args.int("limit")
    limit = 50 if limit is None else limit
    if limit <= 0 or limit > 100:
        raise ApiError(400, "LimitOutOfRange", "The limit for listing active syncs must be between 1 and 100")
    token = args.str("cursor")
    with db.lock:
        offset = _decode(db, token, "Invalid cursor").get("offset", 0) if token is not None else 0
        now_ms = db.clock.now_ns() // 1_000_000
        active = sorted(((sync_id, row) for sync_id, row in _progress(db).items()
                         if now_ms - row["lastUpdated"] <= _ACTIVE_MS),
                        key=lambda item: (-item[1]["lastUpdated"], item[0]))
        page = active[offset:offset + limit]
        more = offset + limit < len(active)
        pagination: dict[str, Any] = {"hasMore": more}
        if more:
            pagination["nextCursor"] = _encode(db, {"synced_ts": 0, "offset": offset + limit})
    syncs = [{"syncId": sync_id, "lastUpdated": row["lastUpdated"], "status": row["status"]} for sync_id, row in page]
    return dumps({"syncs": syncs, "pagination": pagination})


# -- POST /api/data_sync_cursor_from_deltas ---------------------------------------------------------
def data_sync_cursor_from_deltas(db: Database, settings: Settings, args: Args) -> str:
    ts = args.int("cursor")
    if ts is None:
        raise args.error("missing field `cursor`")
    if ts < 0:
        raise ApiError(400, "InvalidDataSyncCursor", "The document_deltas cursor is not a valid timestamp")
    selection = _selection(args)
    with db.lock:
        latest = db.read_ts()
        if ts > latest:
            raise ApiError(400, "InvalidDataSyncCursor",
                           "document_deltas cursor is ahead of the deployment's latest timestamp")
        _check_retention(db, settings, ts)
        targets = _targets(db, latest, selection)
        # Everything at or before `ts` counts as synced for the selected tables: no table in progress.
        cursor = {"synced_ts": ts, "synced": [t.tablet for t in targets], "current": None,
                  "sync_id": _sync_id(args), "n": 0, "table_n": 0}
        token = _encode(db, cursor)
    return dumps({"cursor": token})

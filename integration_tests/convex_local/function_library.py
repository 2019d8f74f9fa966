"""Ready-made functions a test or the demo deploys on a local deployment.

Each builder returns a handler for `FunctionRegistry.register` and mirrors what a real app's
`convex/*.ts` would do (the documented `convex/ingest.ts` is the model of `ingest_records`):
- `paginated_list(table)`: `ctx.db.query(table).paginate(args.paginationOpts)`, optionally only
  the caller's own documents (`owner_field` == the token's subject; unauthenticated: ConvexError);
- `list_all(table)`: `ctx.db.query(table).collect()` (not paginated);
- `IngestFunction`: the ingest mutation of the destination's mutation mode (the documented
  `convex/ingest.ts`, except that an in-memory key index stands in for its `by_key` index and
  `key` field): skips a batch id
  it already applied, upserts by the stream's primary key through an index, deletes on
  `_ab_cdc_deleted_at`, and names the failing record's position in a ConvexError;
- `ingest_http_action(...)`: the same behind an HTTP action that checks a shared secret.
`register(dep, spec)` deploys one of them from a JSON spec (the `/_local/functions` route), so a
deployment running in another process can be given functions too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .functions import ConvexError, FunctionContext
from .values import dumps, to_clean

if TYPE_CHECKING:
    from .deployment import LocalDeployment

BATCHES_TABLE = "ingest_batches"
Handler = Callable[[FunctionContext, dict[str, Any]], Any]


def paginated_list(table: str, owner_field: str | None = None) -> Handler:
    def handler(ctx: FunctionContext, args: dict[str, Any]) -> Any:
        ctx.log(f"listing {table}")
        where = None
        if owner_field is not None:
            subject = ctx.caller.subject
            if subject is None:
                raise ConvexError({"code": "Unauthenticated", "message": "Sign in to list your documents."})
            where = lambda doc: doc.get(owner_field) == subject  # noqa: E731
        return ctx.dep.functions.creation_order_page(table, args.get("paginationOpts"), where=where)

    return handler


def list_all(table: str) -> Handler:
    def handler(ctx: FunctionContext, args: dict[str, Any]) -> Any:
        return ctx.documents(table)

    return handler


def stored_name(key: str) -> str:
    """A record's field as the ingest function stores it: `_id` -> `source_id` (Convex reserves `_`)."""
    return f"source{key}" if key.startswith("_") else key


@dataclass
class _KeyIndex:
    """What `.withIndex("by_key", q => q.eq(...))` finds: key text -> document id, per table."""

    paths: tuple[tuple[str, ...], ...]
    as_of: int = -1
    ids: dict[str, str] = field(default_factory=dict)


def _key_text(doc: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> str | None:
    values = []
    for path in paths:
        value: Any = doc
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        values.append(to_clean(value))
    return dumps(values)


class IngestFunction:
    """The ingest mutation's logic (shared by the mutation and the HTTP action)."""

    def __init__(self, tables: dict[str, str] | None = None) -> None:
        # Stream -> table; None lets every stream write the table of its own name.
        self._tables = tables
        self._indexes: dict[str, _KeyIndex] = {}

    def __call__(self, ctx: FunctionContext, args: dict[str, Any]) -> dict[str, Any]:
        records = args.get("records")
        batch_id = args.get("batchId")
        stream = args.get("stream")
        if not isinstance(records, list):
            raise ConvexError({"code": "BadArguments", "message": "records must be an array"})
        if not records:
            return {"inserted": 0.0, "updated": 0.0, "deleted": 0.0, "skipped": False}
        table = self._table(stream)
        if not isinstance(batch_id, str) or not batch_id:
            raise ConvexError({"code": "BadArguments", "message": "batchId must be a non-empty string"})
        done = [d for d in ctx.documents(BATCHES_TABLE) if d.get("batchId") == batch_id]
        if done:
            ctx.log(f"batch {batch_id} was already applied")
            return {"inserted": 0.0, "updated": 0.0, "deleted": 0.0, "skipped": True}
        primary_key = args.get("primaryKey")
        paths = tuple(tuple(stored_name(p) if i == 0 else p for i, p in enumerate(path))
                      for path in primary_key) if primary_key else None
        # Numbers are floats, as a JS function's numbers are (Python ints would be int64s).
        counts: dict[str, Any] = {"inserted": 0.0, "updated": 0.0, "deleted": 0.0, "skipped": False}
        index = self._index(ctx, table, paths) if paths else None
        for position, record in enumerate(records):
            if not isinstance(record, dict):
                raise ConvexError({"code": "BadRecord", "recordIndex": float(position), "message": "a record must be an object"})
            deleted = record.get("_ab_cdc_deleted_at") is not None
            doc = {stored_name(k): v for k, v in record.items() if not k.startswith("_ab_cdc")}
            if index is None:
                ctx.insert(table, doc)
                counts["inserted"] += 1
                continue
            key = _key_text(doc, index.paths)
            if key is None:
                raise ConvexError({"code": "MissingKey", "recordIndex": float(position),
                                   "message": f"record {position} has no value for the primary key {primary_key}"})
            existing = index.ids.get(key)
            if deleted:
                if existing is not None:
                    ctx.delete(existing)
                    index.ids.pop(key)
                    counts["deleted"] += 1
            elif existing is not None:
                ctx.replace(existing, doc)
                counts["updated"] += 1
            else:
                index.ids[key] = ctx.insert(table, doc)
                counts["inserted"] += 1
        ctx.insert(BATCHES_TABLE, {"batchId": batch_id, "stream": str(stream), "records": float(len(records))})
        ctx.log(f"batch {batch_id}: {counts['inserted']} inserted, {counts['updated']} updated, "
                f"{counts['deleted']} deleted in {table}")
        return counts

    def _table(self, stream: Any) -> str:
        if not isinstance(stream, str) or not stream:
            raise ConvexError({"code": "BadArguments", "message": "stream must be a non-empty string"})
        if self._tables is None:
            return stream
        if stream not in self._tables:
            raise ConvexError({"code": "UnknownStream", "message": f"this app takes no stream named {stream!r}"})
        return self._tables[stream]

    def _index(self, ctx: FunctionContext, table: str, paths: tuple[tuple[str, ...], ...]) -> _KeyIndex:
        """The table's key index as committed, plus this call's own changes once it commits."""
        db = ctx.dep.db
        tablet = db.current_tablet("", table)
        as_of = db.store.tablet_last_ts(tablet.tablet) if tablet is not None else 0
        committed = self._indexes.get(table)
        if committed is None or committed.paths != paths or committed.as_of != as_of:
            committed = _KeyIndex(paths, as_of)
            for doc in ctx.documents(table):
                key = _key_text(doc, paths)
                if key is not None:
                    committed.ids[key] = doc["_id"]
            self._indexes[table] = committed
        working = _KeyIndex(paths, as_of, dict(committed.ids))

        def publish() -> None:
            current = db.current_tablet("", table)
            working.as_of = db.store.tablet_last_ts(current.tablet) if current is not None else 0
            self._indexes[table] = working

        ctx.after_commit.append(publish)
        return working


def ingest_http_action(ingest: IngestFunction, secret: str) -> Callable[[FunctionContext, Any], tuple[int, Any]]:
    """`httpAction`: checks `Authorization: Bearer <secret>`, then runs the ingest logic."""

    def handler(ctx: FunctionContext, body: Any) -> tuple[int, Any]:
        if ctx.authorization != f"Bearer {secret}":
            return 401, {"error": "Unauthorized: send Authorization: Bearer <the ingest secret>"}
        if not isinstance(body, dict):
            return 400, {"error": "The body must be a JSON object"}
        return 200, ingest(ctx, body)

    return handler


def register(dep: "LocalDeployment", spec: dict[str, Any]) -> dict[str, Any]:
    """Deploy one ready-made function from a JSON spec:
    `{"kind": "paginated_list"|"list_all"|"ingest"|"ingest_http", "path": "messages:list",
      "table": "messages", "owner_field": null, "internal": false, "tables": {...}, "secret": "..."}`."""
    kind = spec["kind"]
    functions = dep.functions
    if kind == "paginated_list":
        functions.query(spec["path"], paginated_list(spec["table"], spec.get("owner_field")), spec.get("internal", False))
    elif kind == "list_all":
        functions.query(spec["path"], list_all(spec["table"]), spec.get("internal", False))
    elif kind == "ingest":
        functions.mutation(spec["path"], IngestFunction(spec.get("tables")), spec.get("internal", False))
    elif kind == "ingest_http":
        functions.http_action("POST", spec["route"], ingest_http_action(IngestFunction(spec.get("tables")),
                                                                          spec["secret"]))
    elif kind == "user_token":
        return {"token": functions.add_user_token(spec["subject"])}
    else:
        raise ValueError(f"unknown function kind {kind!r}")
    return {"registered": spec.get("path") or spec.get("route")}

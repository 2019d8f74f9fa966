"""ConvexClient: the streaming export and streaming import routes of one deployment.

Each method is one route: it builds the wire arguments (camelCase lives only here) and
hands a parser to the transport, which owns retries and error mapping.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Callable, Mapping, Sequence

import orjson

from .config import ConnectionSettings
from .errors import IMPORT_500
from .pages import (
    DeltaPage,
    SnapshotPage,
    bad_shape,
    parse_delta_page,
    parse_empty,
    parse_indexes_ready,
    parse_null,
    parse_object,
    parse_schemas_by_component,
    parse_snapshot_page,
)
from .transport import Transport

_EXPORT = "/api"

BodyFilter = Callable[[bytes], bytes]
"""Rewrites a page's raw body before it is parsed (e.g. unwrapping `{"$bytes": ...}` with one
regex over the bytes, which is far cheaper than walking the parsed values)."""
_IMPORT = "/api/streaming_import"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _selection(params: dict[str, str], table_name: str | None, component: str | None) -> None:
    # `table_name` is the spelling every backend reads; some only read it and ignore `tableName`.
    if table_name is not None:
        params["table_name"] = table_name
    if component is not None:
        params["component"] = component


def _keep(values: list[dict[str, Any]], table_name: str | None, component: str | None) -> list[dict[str, Any]]:
    """Rows of the asked-for table/component only: older backends ignore the selection and
    return every table's rows, so the filter must not be left to the server."""
    if table_name is None and component is None:
        return values
    kept = []
    for value in values:
        table = value.get("_table")
        if not isinstance(table, str):
            # A row that names no table cannot be routed: dropping it would lose it silently.
            raise bad_shape(f"a row has no valid '_table' (got {type(table).__name__})")
        if (table_name is None or table == table_name) and (
            component is None or value.get("_component", "") == component
        ):
            kept.append(value)
    return kept if len(kept) != len(values) else values


def _filtered(parse: Callable[[bytes], Any], body_filter: BodyFilter | None) -> Callable[[bytes], Any]:
    if body_filter is None:
        return parse
    return lambda body: parse(body_filter(body))


class ConvexClient:
    """The one client both connectors use; cheap per request, safe to keep for a whole sync."""

    def __init__(self, settings: ConnectionSettings, client_id: str, logger: logging.Logger | None = None,
                 max_connections: int = 4) -> None:
        """`max_connections`: pooled keep-alive connections; at least the number of threads that
        send through this client at once (requests' session is shared by them)."""
        self.settings = settings
        self._transport = Transport(settings, client_id, logger or logging.getLogger("convex_shared"),
                                    max_connections=max_connections)

    @property
    def request_count(self) -> int:
        """Requests sent so far, retries included."""
        return self._transport.request_count

    def close(self) -> None:
        """Release pooled connections."""
        self._transport.close()

    def __enter__(self) -> "ConvexClient":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConvexClient({self.settings.deployment_url!r})"

    # -- streaming export -------------------------------------------------------------

    def test_streaming_export_connection(self) -> None:
        """Succeeds when the key may export from this deployment (and the plan allows it)."""
        self._transport.call("GET", f"{_EXPORT}/test_streaming_export_connection", parse_null)

    def json_schemas(self, delta_schema: bool = True, by_component: bool = True, fmt: str = "json") -> dict[str, Any]:
        """Inferred JSON schemas of the active tables (`{component: {table: schema}}` when by_component)."""
        params = {"deltaSchema": _bool(delta_schema), "byComponent": _bool(by_component), "format": fmt}
        parse = parse_schemas_by_component if by_component else parse_object
        return self._transport.call("GET", f"{_EXPORT}/json_schemas", parse, params=params)

    def list_snapshot(self, snapshot: int | None = None, cursor: str | None = None, table_name: str | None = None,
                      component: str | None = None, fmt: str = "json",
                      body_filter: BodyFilter | None = None) -> SnapshotPage:
        """One page of a consistent snapshot; pass back the same `snapshot` with every cursor."""
        params: dict[str, str] = {"format": fmt}
        if snapshot is not None:
            params["snapshot"] = str(snapshot)
        if cursor is not None:
            params["cursor"] = cursor
        _selection(params, table_name, component)

        def parse(body: bytes) -> SnapshotPage:
            page = parse_snapshot_page(body)
            kept = _keep(page.values, table_name, component)
            return page if kept is page.values else SnapshotPage(kept, page.snapshot, page.cursor, page.has_more)

        # Filtering inside the parser: a malformed row is then a bad response like any other (retried).
        return self._transport.call("GET", f"{_EXPORT}/list_snapshot", _filtered(parse, body_filter), params=params)

    def document_deltas(self, cursor: int, table_name: str | None = None, component: str | None = None,
                        fmt: str = "json", body_filter: BodyFilter | None = None) -> DeltaPage:
        """Changes after `cursor` (exclusive); save the returned cursor after every page, empty ones too."""
        params: dict[str, str] = {"cursor": str(cursor), "format": fmt}
        _selection(params, table_name, component)

        def parse(body: bytes) -> DeltaPage:
            page = parse_delta_page(body)
            kept = _keep(page.values, table_name, component)
            return page if kept is page.values else DeltaPage(kept, page.cursor, page.has_more)

        return self._transport.call("GET", f"{_EXPORT}/document_deltas", _filtered(parse, body_filter), params=params)

    # -- streaming import -------------------------------------------------------------

    def add_primary_key_indexes(self, indexes: Mapping[str, Sequence[Sequence[str]]]) -> None:
        """Create (or keep) each table's primary-key index: `{"users": [["source_id"]]}`."""
        body = orjson.dumps({"indexes": {table: [list(path) for path in paths] for table, paths in indexes.items()}})
        self._transport.call("PUT", f"{_IMPORT}/add_primary_key_indexes", parse_empty, body=body)

    def primary_key_indexes_ready(self, tables: Sequence[str]) -> bool:
        """True when every listed table's primary-key index has finished backfilling."""
        body = orjson.dumps({"tables": list(tables)})
        # The route is a GET that takes a JSON body.
        return self._transport.call("GET", f"{_IMPORT}/primary_key_indexes_ready", parse_indexes_ready, body=body)

    def clear_tables(self, table_names: Sequence[str]) -> None:
        """Delete every document of the tables, atomically (missing tables are created)."""
        body = orjson.dumps({"tableNames": list(table_names)})
        self._transport.call("PUT", f"{_IMPORT}/clear_tables", parse_empty, body=body)

    def import_airbyte_records(self, body: bytes, *, idempotent: bool) -> None:
        """Post one pre-serialized import batch (at most 16,000 messages, so one Convex transaction).

        `idempotent=False` (append): a retry after a failure Convex did not answer (a timeout, a
        dropped connection) is logged as a duplicate risk, since the lost attempt may have committed
        the batch (whole: one request is one transaction). A 500 is retried once: on import it
        usually means the data cannot be stored (IMPORT_500)."""
        self._transport.call("POST", f"{_IMPORT}/import_airbyte_records", parse_empty, body=body,
                             idempotent=idempotent, max_500_attempts=2, repeated_500=IMPORT_500)

"""ConvexClient: the streaming export and streaming import routes of one deployment.

Each method is one route: it builds the wire arguments (camelCase lives only here) and
hands a parser to the transport, which owns retries and error mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import orjson

from .config import ConnectionSettings
from .errors import IMPORT_500
from .pages import (
    DataSyncPage,
    DeltaPage,
    SnapshotPage,
    bad_shape,
    parse_data_sync_cursor,
    parse_data_sync_page,
    parse_delta_page,
    parse_empty,
    parse_indexes_ready,
    parse_null,
    parse_schemas_by_component,
    parse_snapshot_page,
    parse_table_column_names,
)
from .retry import RetryPolicy
from .transport import Transport
from .version import client_id

_EXPORT = "/api"

BodyFilter = Callable[[bytes], bytes]
"""Rewrites a page's raw body before it is parsed (e.g. unwrapping `{"$bytes": ...}` with one
regex over the bytes, which is far cheaper than walking the parsed values)."""
_IMPORT = "/api/streaming_import"


def _bool(value: bool) -> str:
    return "true" if value else "false"


#: The table parameter's spellings. Backends from 2025-08-14 read `table_name` (those since 2026-03-16 read
#: both), self-hosted builds from 2025-07-01 to 2025-08-14 read only `tableName`, and sending both at once
#: makes current backends select every table. So one is sent: `table_name` until a page shows otherwise.
TABLE_NAME: str = "table_name"
TABLE_NAME_OLD: str = "tableName"


def _selection(
    params: dict[str, str], table_name: str | None, component: str | None, spelling: str = TABLE_NAME
) -> None:
    if table_name is not None:
        params[spelling] = table_name
    if component is not None:
        params["component"] = component


def _holds_other_tables(values: list[dict[str, Any]], table_name: str | None, component: str | None) -> bool:
    """Whether a page asked for one table holds rows of others (the backend ignored the table parameter)."""
    if table_name is None:
        return False
    return any(
        v.get("_table") != table_name or (component is not None and v.get("_component", "") != component)
        for v in values
    )


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


Page = TypeVar("Page")


def _filtered(parse: Callable[[bytes], Page], body_filter: BodyFilter | None) -> Callable[[bytes], Page]:
    if body_filter is None:
        return parse
    return lambda body: parse(body_filter(body))


class ConvexClient:
    """The one client both connectors use; cheap per request, safe to keep for a whole sync."""

    def __init__(
        self,
        settings: ConnectionSettings,
        client_id: str,
        logger: logging.Logger | None = None,
        max_connections: int = 4,
    ) -> None:
        """`max_connections`: pooled keep-alive connections; at least the number of threads that
        send through this client at once (requests' session is shared by them)."""
        self.settings = settings
        self._transport = Transport(
            settings, client_id, logger or logging.getLogger("convex_shared"), max_connections=max_connections
        )
        self.table_parameter = TABLE_NAME  # the spelling list_snapshot sends (see TABLE_NAME_OLD)

    @classmethod
    def open(
        cls,
        settings: ConnectionSettings,
        client: str,
        distribution: str,
        logger: logging.Logger,
        max_connections: int = 4,
    ) -> ConvexClient:
        """The client a connector opens: `client` (EXPORT_CLIENT / IMPORT_CLIENT) and the connector's
        `distribution` make its `Convex-Client` header (name and installed version)."""
        return cls(settings, client_id(client, distribution), logger, max_connections=max_connections)

    @property
    def request_count(self) -> int:
        """Requests sent so far, retries included."""
        return self._transport.request_count

    def close(self) -> None:
        """Release pooled connections."""
        self._transport.close()

    def __enter__(self) -> ConvexClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ConvexClient({self.settings.deployment_url!r})"

    # -- streaming export -------------------------------------------------------------

    def test_streaming_export_connection(self) -> None:
        """Succeeds when the key may export from this deployment (and the plan allows it)."""
        self._transport.call("GET", f"{_EXPORT}/test_streaming_export_connection", parse_null)

    def json_schemas(self, delta_schema: bool = True) -> dict[str, Any]:
        """Inferred JSON schemas of the active tables, `{component: {table: schema}}`, in the clean json
        format's rendering; `delta_schema` adds the change-log fields (`_table`, `_ts`, `_deleted`...)."""
        params = {"deltaSchema": _bool(delta_schema), "byComponent": "true", "format": "json"}
        return self._transport.call("GET", f"{_EXPORT}/json_schemas", parse_schemas_by_component, params=params)

    def get_table_column_names(self) -> dict[str, list[tuple[str, list[str]]]]:
        """Every active table's top-level column names, `{component: [(table, columns)]}`. Never fails on a
        table's shape: a table Convex cannot describe lists only `_creationTime` and `_id`."""
        return self._transport.call("GET", f"{_EXPORT}/get_table_column_names", parse_table_column_names)

    def list_snapshot(
        self,
        snapshot: int | None = None,
        cursor: str | None = None,
        table_name: str | None = None,
        component: str | None = None,
        fmt: str = "json",
        body_filter: BodyFilter | None = None,
        retry: RetryPolicy | None = None,
    ) -> SnapshotPage:
        """One page of a consistent snapshot; pass back the same `snapshot` with every cursor.
        `retry` overrides the settings' policy for this request (e.g. a short one while diagnosing)."""
        params: dict[str, str] = {"format": fmt}
        if snapshot is not None:
            params["snapshot"] = str(snapshot)
        if cursor is not None:
            params["cursor"] = cursor
        _selection(params, table_name, component, self.table_parameter)

        def parse(body: bytes) -> SnapshotPage:
            page = parse_snapshot_page(body)
            if params.get(TABLE_NAME) is not None and _holds_other_tables(page.values, table_name, component):
                self._use_old_table_parameter()
            kept = _keep(page.values, table_name, component)
            return page if kept is page.values else SnapshotPage(kept, page.snapshot, page.cursor, page.has_more)

        # Filtering inside the parser: a malformed row is then a bad response like any other (retried).
        return self._transport.call(
            "GET", f"{_EXPORT}/list_snapshot", _filtered(parse, body_filter), params=params, retry=retry
        )

    def _use_old_table_parameter(self) -> None:
        """A backend that ignored `table_name` (self-hosted builds of July to mid-August 2025 read only
        `tableName`): rows stay right thanks to `_keep`, but each table's snapshot would page through the
        whole deployment, so the rest of this client's requests spell it `tableName`. Logged once."""
        if self.table_parameter == TABLE_NAME_OLD:
            return
        self.table_parameter = TABLE_NAME_OLD
        self._transport.logger.warning(
            "This Convex backend ignored the table_name parameter of list_snapshot and sent rows of other tables "
            "(self-hosted builds of July to mid-August 2025 read only tableName). Sending tableName for the rest "
            "of the sync, so that each table's snapshot reads only that table."
        )

    def document_deltas(
        self,
        cursor: int,
        table_name: str | None = None,
        component: str | None = None,
        fmt: str = "json",
        body_filter: BodyFilter | None = None,
    ) -> DeltaPage:
        """Changes after `cursor` (exclusive); save the returned cursor after every page, empty ones too."""
        params: dict[str, str] = {"cursor": str(cursor), "format": fmt}
        _selection(params, table_name, component)

        def parse(body: bytes) -> DeltaPage:
            page = parse_delta_page(body)
            kept = _keep(page.values, table_name, component)
            return page if kept is page.values else DeltaPage(kept, page.cursor, page.has_more)

        return self._transport.call("GET", f"{_EXPORT}/document_deltas", _filtered(parse, body_filter), params=params)

    # -- the data sync API (newer backends; older ones answer 404) ----------------------

    def data_sync(
        self, cursor: str | None, selection: Mapping[str, Any] | None = None, body_filter: BodyFilter | None = None
    ) -> DataSyncPage:
        """One page of `POST /api/v1/data/sync` (no cursor: a new sync). Values are always `export_json`."""
        args: dict[str, Any] = {}
        if cursor is not None:
            args["cursor"] = cursor
        if selection is not None:
            args["selection"] = selection
        return self._transport.call(
            "POST", "/api/v1/data/sync", _filtered(parse_data_sync_page, body_filter), body=orjson.dumps(args)
        )

    def data_sync_cursor_from_deltas(self, cursor: int, selection: Mapping[str, Any] | None = None) -> str:
        """The data sync cursor equivalent to a `document_deltas` position for the selected tables."""
        args: dict[str, Any] = {"cursor": cursor}
        if selection is not None:
            args["selection"] = selection
        return self._transport.call(
            "POST", f"{_EXPORT}/data_sync_cursor_from_deltas", parse_data_sync_cursor, body=orjson.dumps(args)
        )

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
        the batch (whole: one request is one transaction). A dedup request (`idempotent=True`) that
        Convex answers 500 is retried once, then explained as a config error: there a 500 usually
        means the table cannot take the rows (IMPORT_500: duplicate keys). An append request's 500
        has no such usual cause, so it is retried like any transient failure (a 500 is an answer, so
        the failed transaction stored nothing) and ends as a system error Airbyte retries."""
        self._transport.call(
            "POST",
            f"{_IMPORT}/import_airbyte_records",
            parse_empty,
            body=body,
            idempotent=idempotent,
            max_500_attempts=2 if idempotent else None,
            repeated_500=IMPORT_500 if idempotent else None,
        )

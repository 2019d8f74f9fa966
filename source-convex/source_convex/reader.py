"""The page reader: pages of the snapshot, the change log and the data sync, as the rows this source emits.

`PageReader` wraps the shared client's `list_snapshot`, `document_deltas` and data sync routes
and owns the one choice they share: the export format. `export_json` is tried first (int64
arrives as a JSON integer; bytes and special floats are unwrapped in the raw body, see
`value_codec`). A backend that answers `400 BadFormat` only knows the clean `json` format; the
reader then switches for the rest of the sync, logs it once, and turns int64 strings into
integers with converters compiled from each table's schema (also `value_codec`). Either way,
callers get documents ready for CDC fields and emission: each row's system fields are checked
here, once (`check_rows`), and a wrapper that does not decode ends the read with an error
naming its table.

The system fields of every exported row: everything after the page reader trusts them. `_ts`
becomes the CDC fields and orders the change log, `_id` is the declared primary key, `_table` /
`_component` route change-log rows to their stream, and `_deleted` decides whether a record is a
delete. A Convex deployment always sends them well formed; a row that is not (a proxy mangling bodies, a backend bug)
must end the read with a clear error naming the table, never a KeyError or TypeError deep
in the record path, and never a record emitted without its key.

The check is one pass of a few dict lookups and type tests per row (no walk over the
document's values), so it stays off the snapshot throughput's profile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from convex_shared import (
    ConvexBadResponseError,
    ConvexClient,
    ConvexRequestError,
    DataSyncPage,
    DeltaPage,
    RetryPolicy,
    SnapshotPage,
)

from .config import TableRef
from .messages import DELETED, TS
from .value_codec import (
    BadWrapperError,
    Converter,
    compile_converter,
    convert_value,
    has_markers,
    page_needs_conversion,
    rewrite_wrappers,
)

EXPORT_JSON: Final = "export_json"
CLEAN_JSON: Final = "json"

P = TypeVar("P", SnapshotPage, DeltaPage)


class PageReader:
    """Reads pages and converts their values; one per sync."""

    def __init__(
        self,
        client: ConvexClient,
        convex_schemas: Mapping[TableRef, Mapping[str, Any]],
        logger: logging.Logger,
    ) -> None:
        self._client = client
        self._schemas = convex_schemas
        self._logger = logger
        self.fmt = EXPORT_JSON
        self._converters: dict[TableRef, Converter | None] = {}

    def snapshot_page(
        self, table: TableRef, snapshot: int | None, cursor: str | None, retry: RetryPolicy | None = None
    ) -> SnapshotPage:
        """One page of `table`'s snapshot (only that table's rows, whatever the backend sends);
        `retry` overrides the client's retry policy for it."""
        rewrite = _Rewrite()
        page = self._negotiated(
            lambda fmt: self._client.list_snapshot(
                snapshot=snapshot,
                cursor=cursor,
                table_name=table.name,
                component=table.component,
                fmt=fmt,
                body_filter=rewrite if fmt == EXPORT_JSON else None,
                retry=retry,
            )
        )
        self._convert(page.values, table, rewrite.leftover)
        return page

    def data_sync_page(self, cursor: str, tables: Iterable[TableRef]) -> DataSyncPage:
        """One `/api/v1/data/sync` page of `tables`, its rows shaped and checked like change-log rows."""
        rewrite = _Rewrite()
        page = self._client.data_sync(cursor, selection_of(tables), body_filter=rewrite)
        check_rows(page.values, None)
        self._unwrap(page.values, None, rewrite.leftover)
        return page

    def data_sync_cursor(self, position: int, tables: Iterable[TableRef]) -> str:
        """The data sync cursor of `tables` equivalent to the change-log `position`."""
        return self._client.data_sync_cursor_from_deltas(position, selection_of(tables))

    def delta_page(self, cursor: int) -> DeltaPage:
        """One page of the change log after `cursor`, every table; rows are routed by the caller."""
        rewrite = _Rewrite()
        page = self._negotiated(
            lambda fmt: self._client.document_deltas(
                cursor=cursor, fmt=fmt, body_filter=rewrite if fmt == EXPORT_JSON else None
            )
        )
        self._convert(page.values, None, rewrite.leftover)
        return page

    def _negotiated(self, call: Callable[[str], P]) -> P:
        try:
            return call(self.fmt)
        except ConvexRequestError as err:
            if err.code != "BadFormat" or self.fmt != EXPORT_JSON:
                raise
        self._logger.warning(
            "This Convex backend does not offer the export_json format; reading the clean json format instead "
            "(int64 fields are converted using the table schemas)."
        )
        self.fmt = CLEAN_JSON
        return call(self.fmt)

    def _convert(self, values: list[dict[str, Any]], table: TableRef | None, leftover: bool) -> None:
        check_rows(values, table)
        if self.fmt == EXPORT_JSON:
            self._unwrap(values, table, leftover)
            return
        for document in values:
            ref = table or TableRef(document.get("_component", ""), document["_table"])
            converter = self._converter(ref)
            if converter is not None:
                converter(document)

    @staticmethod
    def _unwrap(values: list[dict[str, Any]], table: TableRef | None, leftover: bool) -> None:
        """export_json values: unwrap the `$bytes` / `$float` markers the body filter could not."""
        if leftover and page_needs_conversion(values):
            for document in values:
                try:
                    convert_value(document)
                except BadWrapperError as err:
                    raise bad_row(document, table, f"holding {err}") from None

    def _converter(self, table: TableRef) -> Converter | None:
        if table not in self._converters:
            schema = self._schemas.get(table)
            self._converters[table] = compile_converter(schema) if schema is not None else None
        return self._converters[table]


def selection_of(tables: Iterable[TableRef]) -> dict[str, Any]:
    """The data sync selection of exactly `tables` (every column)."""
    selection: dict[str, Any] = {"_other": "excluded"}
    for table in tables:
        selection.setdefault(table.component, {"_other": "excluded"})[table.name] = {"_other": "included"}
    return selection


class _Rewrite:
    """The body filter of one request: unwraps `$bytes` / `$float` in the raw body and
    remembers whether any marker survived (then the parsed values are walked as well).
    One per request, so it is safe on the read-ahead thread."""

    def __init__(self) -> None:
        self.leftover = False

    def __call__(self, body: bytes) -> bytes:
        if not has_markers(body):
            return body
        rewritten = rewrite_wrappers(body)
        self.leftover = has_markers(rewritten)
        return rewritten


# -- the system fields of every row ---------------------------------------------------------

ID = "_id"
TABLE = "_table"
COMPONENT = "_component"

_REPORT = "This is a bug in the deployment or the connector: please report it with this message."


def check_rows(values: list[dict[str, Any]], table: TableRef | None) -> None:
    """Raise ConvexBadResponseError for the first row whose system fields are not well formed.

    `table` is the table the page was asked for (None for a change-log page of every table).
    `_component` may be absent (an app table on a backend without components); the others
    must be there. `type(...) is` keeps bools out of `_ts` and `_deleted` out of ints.
    """
    for row in values:
        ts = row.get(TS)
        if (
            type(ts) is not int
            or ts < 0
            or type(row.get(ID)) is not str
            or type(row.get(TABLE)) is not str
            or type(row.get(COMPONENT, "")) is not str
            or type(row.get(DELETED, False)) is not bool
        ):
            raise bad_row(row, table, _what_is_wrong(row))


def bad_row(row: dict[str, Any], table: TableRef | None, problem: str) -> ConvexBadResponseError:
    """The error for one malformed row: which table, what is wrong (never the row's values)."""
    where = str(table) if table is not None else _row_table(row)
    return ConvexBadResponseError(
        f"Convex sent a document of table {where} {problem}, which Convex never sends, so the read stops here "
        f"rather than emit it. {_REPORT}",
        reason=f"malformed document of table {where}: {problem}",
        transient=False,
    )


def _row_table(row: dict[str, Any]) -> str:
    name, component = row.get(TABLE), row.get(COMPONENT, "")
    if type(name) is not str or type(component) is not str:
        return "(unknown: its _table / _component are not strings)"
    return str(TableRef(component, name))


def _kind(value: Any) -> str:
    return "missing or null" if value is None else type(value).__name__


def _what_is_wrong(row: dict[str, Any]) -> str:
    ts = row.get(TS)
    if type(ts) is not int:
        return f"without a valid _ts (an integer of nanoseconds; got {_kind(ts)})"
    if ts < 0:
        return "with a negative _ts"
    if type(row.get(ID)) is not str:
        return f"without a valid _id (a string; got {_kind(row.get(ID))})"
    if type(row.get(TABLE)) is not str:
        return f"without a valid {TABLE} (a string; got {_kind(row.get(TABLE))})"
    if type(row.get(COMPONENT, "")) is not str:
        return f"without a valid {COMPONENT} (a string; got {_kind(row.get(COMPONENT))})"
    return f"with a {DELETED} that is not true or false (got {_kind(row.get(DELETED))})"

"""Pages of the snapshot and the change log, in the values this source emits.

Wraps the shared client's `list_snapshot` and `document_deltas` and owns the one choice
they share: the export format. `export_json` is tried first (int64 arrives as a JSON
integer; bytes and special floats are unwrapped in the raw body, see export_values). A
backend that answers `400 BadFormat` only knows the clean `json` format; the reader then
switches for the rest of the sync, logs it once, and turns int64 strings into integers
with converters compiled from each table's schema (see clean_json). Either way, callers
get documents ready for CDC fields and emission: each row's system fields are checked here,
once (see rows), and a wrapper that does not decode ends the read with an error naming its
table.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Final, Iterable, Mapping, Optional, TypeVar

from convex_shared import ConvexClient, ConvexRequestError, DataSyncPage, DeltaPage, RetryPolicy, SnapshotPage

from .clean_json import Converter, compile_converter
from .export_values import BadWrapperError, convert_value, has_markers, page_needs_conversion, rewrite_wrappers
from .rows import bad_row, check_rows
from .tables import TableRef

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
        self._converters: dict[TableRef, Optional[Converter]] = {}

    def snapshot_page(self, table: TableRef, snapshot: Optional[int], cursor: Optional[str],
                      retry: Optional[RetryPolicy] = None) -> SnapshotPage:
        """One page of `table`'s snapshot (only that table's rows, whatever the backend sends);
        `retry` overrides the client's retry policy for it."""
        rewrite = _Rewrite()
        page = self._negotiated(
            lambda fmt: self._client.list_snapshot(
                snapshot=snapshot, cursor=cursor, table_name=table.name, component=table.component, fmt=fmt,
                body_filter=rewrite if fmt == EXPORT_JSON else None, retry=retry,
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

    def _convert(self, values: list[dict[str, Any]], table: Optional[TableRef], leftover: bool) -> None:
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
    def _unwrap(values: list[dict[str, Any]], table: Optional[TableRef], leftover: bool) -> None:
        """export_json values: unwrap the `$bytes` / `$float` markers the body filter could not."""
        if leftover and page_needs_conversion(values):
            for document in values:
                try:
                    convert_value(document)
                except BadWrapperError as err:
                    raise bad_row(document, table, f"holding {err}") from None

    def _converter(self, table: TableRef) -> Optional[Converter]:
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

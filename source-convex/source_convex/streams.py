"""One Airbyte stream per Convex table, as the CDK declares streams.

The source orchestrates `read` itself (see `read`), so these objects mostly declare: name,
namespace (the component path), schema, primary key `_id` and the source-defined cursor
`_ts`. `read_records` still works on its own, as a full snapshot of the table, for code
that reads one CDK stream directly.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import Stream

from .cdc import add_cdc_fields
from .discover import DiscoveredTable
from .pages import PageReader
from .schema import CURSOR_FIELD, PRIMARY_KEY


class ConvexStream(Stream):
    """A Convex table as a stream."""

    primary_key = PRIMARY_KEY

    def __init__(self, discovered: DiscoveredTable, reader: PageReader) -> None:
        self._discovered = discovered
        self._reader = reader

    @property
    def name(self) -> str:
        return self._discovered.table.name

    @property
    def namespace(self) -> Optional[str]:
        return self._discovered.table.namespace

    @property
    def cursor_field(self) -> str:
        return CURSOR_FIELD

    @property
    def source_defined_cursor(self) -> bool:
        return True

    def get_json_schema(self) -> Mapping[str, Any]:  # type: ignore[override]  # the CDK caches its own
        return self._discovered.airbyte_schema

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        """Every document of the table at one snapshot, page by page, with CDC fields."""
        table = self._discovered.table
        snapshot: Optional[int] = None
        cursor: Optional[str] = None
        while True:
            page = self._reader.snapshot_page(table, snapshot, cursor)
            snapshot = page.snapshot
            for document in page.values:
                yield add_cdc_fields(document)
            if not page.has_more or page.cursor is None:
                return
            cursor = page.cursor

"""One Airbyte stream per Convex table, as the CDK declares streams.

The source orchestrates `read` itself (see `read`), so these objects mostly declare: name,
namespace (the component path), schema, primary key `_id` and the source-defined cursor
`_ts`. `read_records` still works on its own, for code that reads one CDK stream directly:
it is a full-refresh read of that one stream through the source's one reader, so it has every
guard a sync has (cursors that do not advance, pages at another snapshot, malformed rows).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional

from airbyte_cdk.models import (
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.streams import Stream

from .discover import DiscoveredTable
from .schema import CURSOR_FIELD, PRIMARY_KEY

#: Runs the source's read for a catalog (the one reader; see `source.SourceConvex._read`).
ReadCatalog = Callable[[ConfiguredAirbyteCatalog], Iterator[AirbyteMessage]]


class ConvexStream(Stream):
    """A Convex table as a stream."""

    primary_key = PRIMARY_KEY

    def __init__(self, discovered: DiscoveredTable, read: Optional[ReadCatalog]) -> None:
        """`read`: None for streams that only declare (discover)."""
        self._discovered = discovered
        self._read = read

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
        """Every document of the table at one snapshot, with CDC fields (a full-refresh read of it)."""
        if self._read is None:
            raise TypeError(f"stream {self.name} was built to declare a catalog, not to read")
        configured = ConfiguredAirbyteStream(stream=self.as_airbyte_stream(), sync_mode=SyncMode.full_refresh,
                                             destination_sync_mode=DestinationSyncMode.overwrite)
        for message in self._read(ConfiguredAirbyteCatalog(streams=[configured])):
            if message.type is Type.RECORD and message.record is not None:
                yield message.record.data

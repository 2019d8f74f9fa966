"""The catalog: which tables the deployment offers, their stream schemas, and the streams as the CDK declares them.

## Discovery

One request: `GET /api/json_schemas?deltaSchema=true&format=json&byComponent=true`, which
answers `{"<component path>": {"<table>": <schema>}}` with `""` for the app's own tables
(when Convex refuses to describe the deployment, see `table_schemas` for the fallback).
The user's `tables` / `include_components` choice then picks the tables offered; a `tables`
setting none of whose names exists is a config error with the closest names ("did you mean").

## Stream schemas

Convex's inferred JSON schemas, rewritten into Airbyte's type system.

`GET /api/json_schemas?deltaSchema=true&format=json` describes each table as Convex
INFERRED it from the stored data (not from schema.ts). The rewrite:

- int64 (`{"$description": "int64 represented as base10 string", "type": "string"}`)
  becomes `{"type": "integer"}`: the source reads `export_json`, where int64 is a bare
  JSON integer, and emits it as one;
- bytes stay base64 strings, ids stay strings described as `Id(<table>)`, and a float64
  that may hold NaN or an infinity keeps its `anyOf` number-or-string;
- `$description` becomes the standard `description` keyword;
- every object accepts fields added later (`additionalProperties: true`), and no field
  below the top is `required`: the schema was inferred from today's data, and a document
  written tomorrow may omit an optional field, which must not make its record invalid;
- `items: false` (an array that was always empty so far) becomes `{}` for the same reason;
- the top level requires only `_id`, because a deletion record carries nothing else;
- a table validated by a union of objects (`v.union(v.object(..), ..)` in schema.ts) is
  flattened into one object whose properties are those of every branch, since Airbyte
  needs an object at the top;
- the change-log fields (`_table`, `_component`, `_ts`, `_deleted`) and the CDC fields
  (`_ab_cdc_lsn`, `_ab_cdc_updated_at`, `_ab_cdc_deleted_at`) are declared.

All functions are pure and return new dicts; the input is never mutated.

## Streams

One Airbyte stream per Convex table, as the CDK declares streams.

The source orchestrates `read` itself (see `read`), so these objects mostly declare: name,
namespace (the component path), schema, primary key `_id` and the source-defined cursor
`_ts`. `read_records` still works on its own, for code that reads one CDK stream directly:
it is a full-refresh read of that one stream through the source's one reader, so it has every
guard a sync has (cursors that do not advance, pages at another snapshot, malformed rows).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from airbyte_cdk.models import (
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.streams import Stream

from convex_shared import ConvexClient, ConvexConfigError
from convex_shared.values import is_int64_schema

from .config import SourceConfig, TableRef
from .messages import CDC_FIELD_SCHEMAS, TS
from .table_schemas import deployment_schemas

JSON_SCHEMA_DRAFT: Final = "http://json-schema.org/draft-07/schema#"

PRIMARY_KEY: Final = "_id"
CURSOR_FIELD: Final = TS

#: Fields the change log adds to every row (json_schemas declares them with deltaSchema=true).
ROUTING_FIELD_SCHEMAS: Final = {
    "_table": {"type": "string", "description": "The Convex table the document belongs to."},
    "_component": {
        "type": "string",
        "description": "Path of the Convex component that owns the table; empty for the app itself.",
    },
    TS: {"type": "integer", "description": "Nanoseconds since the Unix epoch at which this revision was written."},
}

_ID_FIELD: Final = {"type": "string", "description": "The document's Convex id."}


def convert_node(node: Any) -> dict[str, Any]:
    """One (sub)schema of Convex's rendering, converted; boolean schemas become `{}`."""
    if not isinstance(node, Mapping):
        # `true` accepts anything; `false` (only seen as `items` of always-empty arrays)
        # would reject every element a later document adds.
        return {}
    if is_int64_schema(node):
        return {"type": "integer", "description": "int64"}
    description = node.get("$description")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$description", "$schema", "required"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: convert_node(sub) for name, sub in value.items()}
        elif key == "additionalProperties":
            out[key] = True if isinstance(value, bool) else convert_node(value)
        elif key == "items":
            out[key] = [convert_node(sub) for sub in value] if isinstance(value, list) else convert_node(value)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out[key] = [convert_node(sub) for sub in value]
        else:
            out[key] = value
    if isinstance(description, str):
        out["description"] = description
    if _is_object(out):
        out["additionalProperties"] = out.get("additionalProperties", True)
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _merge_field(existing: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if existing is None or existing == new:
        return new
    branches = existing["anyOf"] if set(existing) == {"anyOf"} else [existing]
    if new not in branches:
        branches = [*branches, new]
    return {"anyOf": branches}


def _top_level_properties(converted: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of the top-level object, flattening a union of object branches."""
    if _is_object(converted) or "properties" in converted:
        return dict(converted.get("properties") or {})
    merged: dict[str, Any] = {}
    for branch in converted.get("anyOf") or converted.get("oneOf") or []:
        if isinstance(branch, Mapping):
            for name, field in (branch.get("properties") or {}).items():
                merged[name] = _merge_field(merged.get(name), field)
    return merged


def to_airbyte_schema(convex_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The stream schema for one table, from its json_schemas entry."""
    converted = convert_node(convex_schema)
    properties = _top_level_properties(converted)
    properties.setdefault(PRIMARY_KEY, dict(_ID_FIELD))
    for name, field in ROUTING_FIELD_SCHEMAS.items():
        properties.setdefault(name, dict(field))
    # The CDC fields are ours: they replace any same-named field a document might hold.
    for name, cdc_field in CDC_FIELD_SCHEMAS.items():
        properties[name] = dict(cdc_field)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DRAFT,
        "type": "object",
        "properties": properties,
        "required": [PRIMARY_KEY],
        "additionalProperties": True,
    }
    if isinstance(converted.get("description"), str):
        schema["description"] = converted["description"]
    return schema


# -- discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveredTable:
    """One table offered as a stream: its Convex schema and its Airbyte schema."""

    table: TableRef
    convex_schema: Mapping[str, Any]
    airbyte_schema: Mapping[str, Any]


class Discoverer:
    """Lists the tables a config offers."""

    def __init__(self, client: ConvexClient, config: SourceConfig, logger: logging.Logger) -> None:
        self._client = client
        self._config = config
        self._logger = logger

    def convex_schemas(self) -> dict[TableRef, Mapping[str, Any]]:
        """Every table of the deployment (whatever the config selects) with its Convex schema."""
        return deployment_schemas(self._client, self._logger)

    def missing_tables(self, schemas: Mapping[TableRef, Any]) -> list[TableRef]:
        """Tables named in the config that the deployment does not have."""
        return sorted((self._config.tables or frozenset()) - set(schemas))

    def missing_message(self, missing: list[TableRef], schemas: Mapping[TableRef, Any]) -> str:
        """What the user must fix about `missing` tables, with the closest real names."""
        known = [str(table) for table in schemas]
        named = []
        for table in missing:
            close = difflib.get_close_matches(str(table), known, n=1, cutoff=0.6)
            named.append(f"{table} (did you mean {close[0]}?)" if close else str(table))
        return (
            f"The tables setting names tables this deployment does not have: {', '.join(named)}. Fix the names "
            "(they are case-sensitive; a component table is written <component>/<table>) or leave the setting "
            "empty to sync every table."
        )

    def tables(self, schemas: Mapping[TableRef, Mapping[str, Any]]) -> list[DiscoveredTable]:
        """The offered tables of `schemas` (`convex_schemas()`), app tables first, each group by name.

        Raises ConvexConfigError when the tables setting names tables and none of them exists: an
        empty catalog would look like success and sync nothing."""
        missing = self.missing_tables(schemas)
        if missing and len(missing) == len(self._config.tables or ()):
            raise ConvexConfigError(self.missing_message(missing, schemas))
        for table in missing:
            self._logger.warning("%s Skipping it.", self.missing_message([table], schemas))
        return [
            DiscoveredTable(ref, schema, to_airbyte_schema(schema))
            for ref, schema in sorted(schemas.items(), key=lambda item: (item[0].component != "", item[0]))
            if self._config.wants(ref)
        ]


# -- streams ---------------------------------------------------------------------------------

#: Runs the source's read for a catalog (the one reader; see `source.SourceConvex._read`).
ReadCatalog = Callable[[ConfiguredAirbyteCatalog], Iterator[AirbyteMessage]]


class ConvexStream(Stream):
    """A Convex table as a stream."""

    primary_key = PRIMARY_KEY

    def __init__(self, discovered: DiscoveredTable, read: ReadCatalog | None) -> None:
        """`read`: None for streams that only declare (discover)."""
        self._discovered = discovered
        self._read = read

    @property
    def name(self) -> str:
        return self._discovered.table.name

    @property
    def namespace(self) -> str | None:
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
        cursor_field: list[str] | None = None,
        stream_slice: Mapping[str, Any] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[Mapping[str, Any]]:
        """Every document of the table at one snapshot, with CDC fields (a full-refresh read of it)."""
        if self._read is None:
            raise TypeError(f"stream {self.name} was built to declare a catalog, not to read")
        configured = ConfiguredAirbyteStream(
            stream=self.as_airbyte_stream(),
            sync_mode=SyncMode.full_refresh,
            destination_sync_mode=DestinationSyncMode.overwrite,
        )
        for message in self._read(ConfiguredAirbyteCatalog(streams=[configured])):
            if message.type is Type.RECORD and message.record is not None:
                yield message.record.data

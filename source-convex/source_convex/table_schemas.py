"""Every table of the deployment with its Convex JSON schema, even when Convex refuses to infer one.

`GET /api/json_schemas` answers for the whole deployment or not at all: when any one table's
inferred shape is not an object, and no `schema.ts` validator describes it, the request fails with
`400 NoSchemaForExport` and names no table (`NoTableDefinitionForExport` and
`UnsupportedSchemaForExport` are the same failure with a `schema.ts` that lacks or cannot express
the table). Convex infers a table as a record instead of an object when its documents have more
than 64 top-level fields (`_id` and `_creationTime` included) or a top-level field name that is not
an identifier (`Order ID`, `first-name`), which a Convex destination writes for spreadsheet-like
streams. One such table must not make every table unexportable.

So on those codes the tables are listed with `GET /api/get_table_column_names`, which never fails on
shape: an object table lists its top-level fields, a table Convex cannot describe lists only
`_creationTime` and `_id` (as does an empty one). Every table then gets a permissive schema built
from its column names (fields untyped, more allowed), and the tables Convex refused are found with
one snapshot page each (they hold documents with fields beyond the two listed) and named in a
warning, with the fields their first page holds added as columns (only where a schema is shown: a
read skips those pages). Reading needs no schema
(`export_json` carries every value's type), so the records are the same as with a typed schema.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from convex_shared import ConvexClient, ConvexRequestError

from .config import TableRef
from .reader import COMPONENT, ID, TABLE

#: json_schemas' answers when one table's shape keeps it from describing the deployment.
REFUSED_CODES: Final = frozenset({"NoSchemaForExport", "NoTableDefinitionForExport", "UnsupportedSchemaForExport"})

CREATION_TIME: Final = "_creationTime"
_SYSTEM_COLUMNS: Final = frozenset({ID, CREATION_TIME})
_ROUTING: Final = frozenset({TABLE, COMPONENT, "_ts"})
JSON_SCHEMA_DRAFT: Final = "http://json-schema.org/draft-07/schema#"

UNTYPED: Final = (
    "Convex did not describe this table's types (json_schemas refused the deployment because of another table), "
    "so its fields are untyped here; the records are exact all the same."
)
REFUSED: Final = (
    "Convex cannot infer a schema for this table (more than 64 top-level fields, or a field name that is not an "
    "identifier), so its fields are untyped here; the records are exact all the same."
)


def all_tables(schemas_by_component: Mapping[str, Mapping[str, Any]]) -> dict[TableRef, Mapping[str, Any]]:
    """Every table of a by-component json_schemas answer, with its Convex schema."""
    return {
        TableRef(component, name): schema
        for component, tables in schemas_by_component.items()
        for name, schema in tables.items()
    }


def deployment_schemas(
    client: ConvexClient, logger: logging.Logger, find_refused: bool = True
) -> dict[TableRef, Mapping[str, Any]]:
    """Every active table with its Convex schema (typed from json_schemas, or permissive; see above).

    `find_refused=False` (a read) skips the snapshot page per table that finds the refused tables: a
    read needs no schema, and discover already named them; the warning then names none."""
    try:
        return all_tables(client.json_schemas())
    except ConvexRequestError as err:
        if err.code not in REFUSED_CODES:
            raise
        refusal = err
    columns = {
        TableRef(component, name): listed
        for component, tables in client.get_table_column_names().items()
        for name, listed in tables
    }
    refused: dict[TableRef, list[str]] = {}
    for table, listed in sorted(columns.items()):
        if find_refused and set(listed) <= _SYSTEM_COLUMNS:
            fields = _sampled_fields(client, table)
            if fields:
                refused[table] = fields
    if refused:
        names = ", ".join(str(table) for table in refused)
        logger.warning(
            "Convex refused to infer table schemas for this deployment (%s) because of %d table(s): %s. Their "
            "documents have more than 64 top-level fields (counting _id and _creationTime) or a top-level field name "
            "that is not an identifier (like 'Order ID' or 'first-name'). Every table is still read, exactly, with a "
            "permissive schema built from its column names (types are unknown while Convex refuses). To get typed "
            "columns again, add a validator for these tables in convex/schema.ts, or rename such fields to "
            "identifiers (letters, digits and underscores).",
            refusal.code,
            len(refused),
            names,
        )
    else:
        logger.warning(
            "Convex refused to infer table schemas for this deployment (%s: %s); every table is read with a "
            "permissive schema built from its column names.",
            refusal.code,
            refusal.convex_message or "no message",
        )
    return {
        table: permissive_schema(table, refused.get(table, listed), REFUSED if table in refused else UNTYPED)
        for table, listed in columns.items()
    }


def _sampled_fields(client: ConvexClient, table: TableRef) -> list[str]:
    """Top-level fields beyond the system ones in the table's first snapshot page (none: the table is
    empty, or its documents really hold only `_id` and `_creationTime`)."""
    page = client.list_snapshot(table_name=table.name, component=table.component, fmt="json")
    found: dict[str, None] = {}
    for document in page.values:
        for field in document:
            if field not in _SYSTEM_COLUMNS and field not in _ROUTING:
                found[field] = None
    return sorted(found)


def permissive_schema(table: TableRef, columns: list[str], description: str) -> dict[str, Any]:
    """A schema in json_schemas' own rendering (so `schema.to_airbyte_schema` converts it like any
    other) that accepts every document: the system fields typed, the other columns untyped."""
    properties: dict[str, Any] = {field: {} for field in columns if field not in _SYSTEM_COLUMNS}
    properties[ID] = {"$description": f"Id({table.name})", "type": "string"}
    properties[CREATION_TIME] = {"type": "number"}
    return {
        "$schema": JSON_SCHEMA_DRAFT,
        "$description": description,
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
        "required": sorted(_SYSTEM_COLUMNS),
    }

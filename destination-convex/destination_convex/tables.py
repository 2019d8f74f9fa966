"""Where a stream lands in Convex, and what its fields and primary key are called there.

Table names are drop-in compatible with destination-convex 0.2.x: `<namespace>_<stream>` when
the record carries a namespace (any non-null one, even empty, as 0.2.x did), else `<stream>`.
That raw name is then mapped by Convex's import naming rule (`convex_shared.naming`), so the
name we clear, index and import into is exactly the table Convex stores.

Field names inside documents are renamed by Convex itself on import (`_id` -> `source_id`),
but primary-key index paths are NOT renamed by the server: they must name the stored fields.
`primary_key_paths` maps every key path through the same rule, using the stream's JSON schema
to apply the within-object collision rule the way Convex will apply it to the records.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from convex_shared.naming import convex_table_name, map_keys

#: Convex's limits on table names, field names and index definitions.
MAX_TABLE_NAME_CHARS = 64
MAX_FIELD_NAME_CHARS = 1024
MAX_INDEX_FIELDS = 16
_INDEXABLE_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
#: Convex drops every top-level `source_ab_cdc*` field before storing a document.
DROPPED_FIELD_PREFIX = "source_ab_cdc"


class NamingError(ValueError):
    """A stream cannot be stored under a valid Convex table name or indexed on its key."""


def raw_table_name(namespace: str | None, stream: str) -> str:
    """The table name 0.2.x sent: `<namespace>_<stream>`, or the stream name alone."""
    return f"{namespace}_{stream}" if namespace is not None else stream


def table_name(namespace: str | None, stream: str) -> str:
    """The Convex table a stream's records are stored in; raises NamingError if it is too long."""
    name = convex_table_name(raw_table_name(namespace, stream))
    if len(name) > MAX_TABLE_NAME_CHARS:
        raise NamingError(
            f"Stream '{describe_stream(namespace, stream)}' would be stored in the Convex table '{name}', which is "
            f"{len(name)} characters long; Convex allows at most {MAX_TABLE_NAME_CHARS}. Shorten the stream name or "
            "namespace with the connection's stream prefix or destination namespace settings."
        )
    return name


def describe_stream(namespace: str | None, stream: str) -> str:
    """`namespace.stream` for messages (just `stream` without a namespace)."""
    return f"{namespace}.{stream}" if namespace else stream


def field_names(keys: Sequence[str]) -> dict[str, str]:
    """Each key of one object -> the name Convex stores it under (collision rule included)."""
    key_list = list(keys)
    return dict(zip(key_list, map_keys(key_list)))


def renamed_fields(json_schema: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Top-level schema properties that Convex stores under another name, in schema order."""
    properties = _properties(json_schema)
    return [(key, name) for key, name in field_names(list(properties)).items() if key != name]


def primary_key_paths(
    stream: str,
    primary_key: Sequence[Sequence[str]],
    json_schema: Mapping[str, Any] | None,
) -> list[list[str]]:
    """The stored field paths of a primary key, ready for `add_primary_key_indexes`.

    Each segment is mapped with the names of its sibling properties in the schema (so `_id`
    next to an existing `source_id` becomes `source_source_id`, as Convex stores it); a segment
    the schema does not describe is mapped on its own. Field names go through `map_keys` (the
    field rule) and only table names through `convex_table_name`, so each follows its own rule.
    Raises NamingError naming the stream and field when the key cannot back a Convex index.
    """
    if not primary_key:
        raise NamingError(
            f"Stream '{stream}' is set to deduplicate but has no primary key. Choose a primary key for it in the "
            "connection's settings, or switch the stream to an append or overwrite mode."
        )
    if len(primary_key) > MAX_INDEX_FIELDS:
        raise NamingError(
            f"Stream '{stream}' has a primary key of {len(primary_key)} fields; a Convex index holds at most "
            f"{MAX_INDEX_FIELDS}. Choose a shorter primary key."
        )
    paths = []
    for path in primary_key:
        if not path or not all(isinstance(segment, str) and segment for segment in path):
            raise NamingError(
                f"Stream '{stream}' has an empty or malformed primary-key field {list(path)!r}. Choose the primary "
                "key again in the connection's settings."
            )
        paths.append(_stored_path(stream, path, json_schema))
    return paths


def _stored_path(stream: str, path: Sequence[str], json_schema: Mapping[str, Any] | None) -> list[str]:
    shown = ".".join(path)
    stored: list[str] = []
    schema: Mapping[str, Any] | None = json_schema
    for segment in path:
        properties = _properties(schema)
        siblings = list(properties) if segment in properties else [segment]
        name = field_names(siblings)[segment]
        if not _INDEXABLE_FIELD.fullmatch(name) or len(name) > MAX_FIELD_NAME_CHARS:
            raise NamingError(
                f"Stream '{stream}': primary-key field '{shown}' is stored as '{name}', which Convex cannot index. "
                "Choose another primary key."
            )
        stored.append(name)
        child = properties.get(segment)
        schema = child if isinstance(child, Mapping) else None
    if stored[0].startswith(DROPPED_FIELD_PREFIX):
        raise NamingError(
            f"Stream '{stream}': primary-key field '{shown}' is a CDC field, which Convex does not store, so it "
            "cannot identify documents. Choose another primary key."
        )
    return stored


def _properties(schema: Mapping[str, Any] | None) -> Mapping[str, Any]:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}

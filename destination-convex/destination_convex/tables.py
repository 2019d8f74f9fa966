"""Where a stream lands in Convex, and what its fields and primary key are called there.

Table names are drop-in compatible with destination-convex 0.2.x: `<namespace>_<stream>` when
the record carries a namespace (any non-null one, even empty, as 0.2.x did), else `<stream>`.
That raw name is then mapped by Convex's import naming rule (`convex_shared.naming`), so the
name we clear, index and import into is exactly the table Convex stores.

Primary-key index paths are NOT renamed by the server: they must name the stored fields. The
top-level segment is the stream's own stored name (`fields.FieldMapping`, which the destination
applies to every record); a nested segment is named the way Convex renames nested keys, using
its sibling properties in the stream's JSON schema for the within-object collision rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from convex_shared.naming import RenameLimitError, convex_table_name, map_keys

from .fields import FieldMapping

#: Convex's limits on table names and index definitions: an index holds 16 fields, and Convex
#: appends `_creationTime` to every one, so a primary key has at most 15; each key field is an
#: identifier (`IdentifierFieldName`) of at most 64 characters.
MAX_TABLE_NAME_CHARS = 64
MAX_KEY_FIELDS = 15
MAX_KEY_FIELD_CHARS = 64
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
    """Each key of one (nested) object -> the name Convex stores it under (collision rule included)."""
    key_list = list(keys)
    return dict(zip(key_list, map_keys(key_list), strict=True))


def declared_fields(json_schema: Mapping[str, Any] | None) -> list[str]:
    """The stream's top-level properties, in schema order."""
    return list(_properties(json_schema))


def primary_key_paths(
    stream: str,
    primary_key: Sequence[Sequence[str]],
    json_schema: Mapping[str, Any] | None,
    fields: FieldMapping,
) -> list[list[str]]:
    """The stored field paths of a primary key, ready for `add_primary_key_indexes`.

    The first segment is the stream's stored name for it (so `_id` next to a declared `source_id`
    is `source_source_id` in every record, deletes included); deeper segments are mapped with
    their sibling properties in the schema, as Convex maps nested keys. Raises NamingError naming
    the stream and field when the key cannot back a Convex index.
    """
    if not primary_key:
        raise NamingError(
            f"Stream '{stream}' is set to deduplicate but has no primary key. Choose a primary key for it in the "
            "connection's settings, or switch the stream to an append or overwrite mode."
        )
    if len(primary_key) > MAX_KEY_FIELDS:
        raise NamingError(
            f"Stream '{stream}' has a primary key of {len(primary_key)} fields; Convex indexes at most "
            f"{MAX_KEY_FIELDS} (it appends _creationTime to every index). Choose a shorter primary key."
        )
    paths = []
    for path in primary_key:
        if not path or not all(isinstance(segment, str) and segment for segment in path):
            raise NamingError(
                f"Stream '{stream}' has an empty or malformed primary-key field {list(path)!r}. Choose the primary "
                "key again in the connection's settings."
            )
        paths.append(_stored_path(stream, path, json_schema, fields))
    return paths


def _stored_path(
    stream: str, path: Sequence[str], json_schema: Mapping[str, Any] | None, fields: FieldMapping
) -> list[str]:
    shown = ".".join(path)
    stored: list[str] = []
    schema: Mapping[str, Any] | None = json_schema
    for depth, segment in enumerate(path):
        properties = _properties(schema)
        try:
            if depth == 0:
                name = fields.name(segment)
            else:
                siblings = list(properties) if segment in properties else [segment]
                name = field_names(siblings)[segment]
        except (RenameLimitError, ValueError):
            name = segment
        if not _INDEXABLE_FIELD.fullmatch(name) or len(name) > MAX_KEY_FIELD_CHARS:
            raise NamingError(
                f"Stream '{stream}': primary-key field '{shown}' is stored as '{name[:80]}', which Convex cannot "
                f"index (key fields must be identifiers of at most {MAX_KEY_FIELD_CHARS} characters starting with "
                "a letter). Choose another primary key."
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

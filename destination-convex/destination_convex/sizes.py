"""Convex's own size accounting and document limits, checked before a record is sent.

Convex measures values its own way (crates/value/src/lib.rs `impl Size for ConvexValue`), not in
JSON bytes: null and booleans count 1 byte, every number 9 (all JSON numbers are stored as
float64), a string its UTF-8 length plus 2, an array 2 plus its items, an object 2 plus, per
field, the name's length, 1 and the value. A document holds at most 1 MiB of that, including its
`_id` and `_creationTime`; it nests at most 16 levels (the document itself is one), an object has
at most 1,024 fields (a document's top level also holds the two system fields) and an array at
most 8,192 items. A record past one of these would fail its whole request with
`ValueTooLargeError`, `InvalidDocumentError`, `TooManyFieldsError` or `ArrayTooLong`; checking here
names the stream and the field instead.

The same sizes bound each request (a transaction commits every 16 MiB of them) and pace the
write rate.
"""

from __future__ import annotations

from typing import Any, Final

MIB: Final = 1024 * 1024
MAX_DOCUMENT_SIZE: Final = MIB
MAX_NESTING: Final = 16
MAX_FIELDS: Final = 1024
MAX_ARRAY_ITEMS: Final = 8192
#: `_id` (a 32-34 character id) and `_creationTime`, as Convex counts them.
SYSTEM_FIELDS_SIZE: Final = (3 + 1 + 34 + 2) + (13 + 1 + 9)
#: What one document write adds to the deployment's write-throughput window besides the
#: document (crates/database/src/committer.rs counts both): its log entry's timestamp and id
#: (8 + 32), and about 88 bytes per index entry (timestamp, index id, key, document id) in
#: `by_id` and `by_creation_time`; a dedup write also touches the primary-key index and
#: usually replaces a revision (its previous timestamp, 8 more).
APPEND_WRITE_OVERHEAD: Final = 40 + 2 * 88
DEDUP_WRITE_OVERHEAD: Final = 48 + 3 * 88


def value_size(value: Any) -> int:
    """Convex's size of one JSON value."""
    kind = type(value)
    if kind is str:
        return (len(value) if value.isascii() else len(value.encode("utf-8"))) + 2
    if kind is int or kind is float:
        return 9
    if value is None or kind is bool:
        return 1
    if kind is dict:
        return 2 + sum(len(key) + 1 + value_size(item) for key, item in value.items())
    if kind is list:
        return 2 + sum(value_size(item) for item in value)
    return 9  # not JSON: serialization refuses it first


def document_size(fields: dict[str, Any]) -> int:
    """A stored document's size: its fields plus `_id` and `_creationTime`."""
    return value_size(fields) + SYSTEM_FIELDS_SIZE


def may_break_shape_limits(payload: bytes, top_level_fields: int) -> bool:
    """False when the JSON text proves every nesting, field-count and array limit is kept.

    Nesting needs one bracket per level, and a long array or object one comma per item, so
    counting them (in C) spares the walk for almost every record."""
    if top_level_fields + 2 > MAX_FIELDS:
        return True
    return payload.count(b"{") + payload.count(b"[") > MAX_NESTING or payload.count(b",") >= MAX_FIELDS - 2


def shape_problem(fields: dict[str, Any]) -> str | None:
    """What breaks a document limit, naming the field path; None when the document is fine."""
    if len(fields) + 2 > MAX_FIELDS:
        return (
            f"has {len(fields)} top-level fields; a Convex document holds at most {MAX_FIELDS - 2} besides "
            "_id and _creationTime"
        )
    return _walk(fields, [], 1)


def _walk(value: Any, path: list[str], depth: int) -> str | None:
    where = ".".join(path) or "(the record)"
    if depth > MAX_NESTING:
        return f"nests more than {MAX_NESTING} levels deep at field '{where}'"
    if isinstance(value, dict):
        if path and len(value) > MAX_FIELDS:
            return f"has an object of {len(value)} fields at field '{where}' (at most {MAX_FIELDS})"
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                found = _walk(item, [*path, key], depth + 1)
                if found:
                    return found
    elif isinstance(value, list):
        if len(value) > MAX_ARRAY_ITEMS:
            return f"has an array of {len(value)} items at field '{where}' (at most {MAX_ARRAY_ITEMS})"
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                found = _walk(item, [*path, f"[{index}]"], depth + 1)
                if found:
                    return found
    return None

"""Shape inference over stored documents and its JSON-schema rendering (for /api/json_schemas).

A simplified model of the backend's reduced shapes (crates/common/src/shapes/reduced.rs):
- objects merge field-wise; a field missing from some objects becomes optional;
- arrays merge their element shapes (an always-empty array has element `never` -> "items": false);
- float64 carries one flag: may it hold NaN, +-inf or -0.0;
- a string that decodes as an id of an existing table is Id(table); a plain string absorbs ids;
- an object with more than 64 fields, or a field name that is not an identifier, is a record
  (rendered `{}`, like the backend's "TODO" record rendering);
- a union with more than 16 variants collapses to unknown (`{}`).
Unions render as anyOf in the backend's variant order (id, null, int64, float64, boolean, string,
bytes, object, array).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from . import ids

Shape = tuple  # ("kind", ...) see module docstring

NEVER: Shape = ("never",)
UNKNOWN: Shape = ("unknown",)
NULL: Shape = ("null",)
INT64: Shape = ("int64",)
BOOLEAN: Shape = ("boolean",)
STRING: Shape = ("string",)
BYTES: Shape = ("bytes",)
RECORD: Shape = ("record",)

_RANK = {
    "unknown": 0, "never": 1, "id": 2, "null": 3, "int64": 4, "float64": 5, "boolean": 6,
    "string": 7, "bytes": 8, "object": 9, "array": 10, "record": 11, "union": 12,
}
MAX_OBJECT_FIELDS = 64
MAX_UNION = 16
_IDENTIFIER = re.compile(r"(?!_+\Z)[A-Za-z_][A-Za-z0-9_]{0,63}\Z")  # not only underscores
SCHEMA_URI = "http://json-schema.org/draft-07/schema#"


FLOAT64 = ("float64", False)
FLOAT64_SPECIAL = ("float64", True)
_identifiers: dict[str, bool] = {}


def _is_identifier(name: str) -> bool:
    found = _identifiers.get(name)
    if found is None:
        found = _IDENTIFIER.match(name) is not None
        if len(_identifiers) < 100_000:
            _identifiers[name] = found
    return found


_id_like: dict[str, int | None] = {}
_ID_CHARS = frozenset("0123456789abcdefghjkmnpqrstvwxyz")


def _id_number(s: str) -> int | None:
    """The table number of a string that decodes as a document id (memoized), else None."""
    if not 31 <= len(s) <= 37:
        return None
    found = _id_like.get(s, -1)
    if found == -1:
        found = ids.table_number_of(s) if _ID_CHARS.issuperset(s) else None
        if len(_id_like) >= 200_000:
            _id_like.clear()
        _id_like[s] = found
    return found  # type: ignore[return-value]


def document_shape(doc: dict[str, Any], table_number: int, table_exists: Callable[[int], bool]) -> Shape:
    """The shape of a stored document (its `_id` is known to be an id of its own table)."""
    fields = {k: v for k, v in doc.items() if k != "_id" and k != "_creationTime"}
    if len(fields) + 2 > MAX_OBJECT_FIELDS:  # `_id` and `_creationTime` count towards the limit
        return RECORD
    inner = shape_of(fields, table_exists)
    if inner[0] != "object":
        return inner
    out = inner[1]
    out["_id"] = (False, ("id", table_number))
    out["_creationTime"] = (False, FLOAT64)
    return inner


def shape_of(v: Any, table_exists: Callable[[int], bool]) -> Shape:
    t = type(v)
    if t is str:
        number = _id_number(v)
        return ("id", number) if number is not None and table_exists(number) else STRING
    if t is float:
        if math.isfinite(v) and (v != 0.0 or math.copysign(1.0, v) > 0):
            return FLOAT64
        return FLOAT64_SPECIAL
    if t is bool:
        return BOOLEAN
    if v is None:
        return NULL
    if t is int:
        return INT64
    if t is bytes:
        return BYTES
    if t is list:
        item = NEVER
        for x in v:
            item = union(item, shape_of(x, table_exists))
        return ("array", item)
    if len(v) > MAX_OBJECT_FIELDS or not all(_is_identifier(k) for k in v):
        return RECORD
    return ("object", {k: (False, shape_of(x, table_exists)) for k, x in v.items()})


def _variants(s: Shape) -> tuple:
    return s[1] if s[0] == "union" else (s,)


def _merge_objects(a: dict, b: dict) -> dict:
    """Field-wise union; returns `a` itself when nothing changes (cheap repeated merges)."""
    out = {}
    changed = False
    for name, field_a in a.items():
        found = b.get(name)
        if found is None:
            out[name] = (True, field_a[1])
            changed = changed or not field_a[0]
        else:
            shape = union(field_a[1], found[1])
            optional = field_a[0] or found[0]
            if shape is not field_a[1] or optional != field_a[0]:
                changed = True
            out[name] = (optional, shape)
    for name, (_, shape_b) in b.items():
        if name not in a:
            out[name] = (True, shape_b)
            changed = True
    return out if changed else a


def _sort_key(s: Shape) -> tuple:
    kind = s[0]
    if kind == "id":
        return (_RANK[kind], s[1])
    if kind == "float64":
        return (_RANK[kind], s[1])
    return (_RANK[kind], 0)


def union(a: Shape, b: Shape) -> Shape:
    """The smallest shape (in this model) holding both."""
    if a is b or b == NEVER:
        return a
    if a == NEVER:
        return b
    if a[0] == "object" and b[0] == "object":
        merged = _merge_objects(a[1], b[1])
        return a if merged is a[1] else ("object", merged)
    if a[0] == "array" and b[0] == "array":
        item = union(a[1], b[1])
        return a if item is a[1] else ("array", item)
    if a == b:
        return a
    if a == UNKNOWN or b == UNKNOWN:
        return UNKNOWN
    by_kind: dict[Any, Shape] = {}
    for s in _variants(a) + _variants(b):
        kind = s[0]
        key = ("id", s[1]) if kind == "id" else kind
        old = by_kind.get(key)
        if old is None:
            by_kind[key] = s
        elif kind == "object":
            by_kind[key] = ("object", _merge_objects(old[1], s[1]))
        elif kind == "array":
            by_kind[key] = ("array", union(old[1], s[1]))
        elif kind == "float64":
            by_kind[key] = ("float64", old[1] or s[1])
    if "string" in by_kind:
        by_kind = {k: s for k, s in by_kind.items() if s[0] != "id"}
    if "record" in by_kind:
        by_kind.pop("object", None)
    variants = sorted(by_kind.values(), key=_sort_key)
    if len(variants) == 1:
        return variants[0]
    if len(variants) > MAX_UNION:
        return UNKNOWN
    return ("union", tuple(variants))


def _float64(special: bool, fmt: str) -> dict:
    if not special:
        return {"type": "number"}
    if fmt == "clean":
        alt = {"type": "string", "$description": "-inf, inf, or NaN"}
    else:
        # Encoded JSON also writes -0.0 as $float; export_json writes it as a number.
        alt = {
            "type": "object",
            "$description": "-0, -inf, inf, or NaN" if fmt == "encoded" else "-inf, inf, or NaN",
            "properties": {"$float": {"$description": "float64 -> little-endian -> base64", "type": "string"}},
        }
    return {"$description": "float64", "anyOf": [{"type": "number"}, alt]}


def _int64(fmt: str) -> dict:
    if fmt == "clean":
        return {"$description": "int64 represented as base10 string", "type": "string"}
    if fmt == "encoded":
        return {
            "$description": "int64",
            "type": "object",
            "properties": {"$integer": {"$description": "int64 -> little-endian -> base64", "type": "string"}},
        }
    # export_json writes int64 as a bare JSON integer.
    return {"$description": "int64", "type": "number"}


def _bytes(fmt: str) -> dict:
    if fmt == "clean":
        return {"$description": "base64 bytes", "type": "string"}
    return {"type": "object", "$description": "base64 bytes", "properties": {"$bytes": {"type": "string"}}}


def id_schema(table_name: str) -> dict:
    return {"$description": f"Id({table_name})", "type": "string"}


def object_schema(fields: dict[str, tuple[bool, Any]]) -> dict:
    """fields: name -> (optional, rendered schema)."""
    return {
        "type": "object",
        "properties": {k: fields[k][1] for k in sorted(fields)},
        "additionalProperties": False,
        "required": sorted(k for k, (optional, _) in fields.items() if not optional),
    }


def to_json_schema(s: Shape, fmt: str, table_name_of: Callable[[int], str | None]) -> Any:
    kind = s[0]
    if kind == "never":
        return False
    if kind in ("unknown", "record"):
        return {}
    if kind == "id":
        name = table_name_of(s[1])
        return id_schema(name) if name is not None else {"type": "string"}
    if kind == "null":
        return {"type": "null"}
    if kind == "int64":
        return _int64(fmt)
    if kind == "float64":
        return _float64(s[1], fmt)
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "string":
        return {"type": "string"}
    if kind == "bytes":
        return _bytes(fmt)
    if kind == "array":
        return {"type": "array", "items": to_json_schema(s[1], fmt, table_name_of)}
    if kind == "object":
        return object_schema({k: (opt, to_json_schema(sub, fmt, table_name_of)) for k, (opt, sub) in s[1].items()})
    return {"anyOf": [to_json_schema(v, fmt, table_name_of) for v in s[1]]}


def empty_table_schema(table_name: str) -> dict:
    return object_schema({"_id": (False, id_schema(table_name)), "_creationTime": (False, {"type": "number"})})


def table_schema(s: Shape, table_name: str, fmt: str, table_name_of: Callable[[int], str | None]) -> dict | None:
    """The top-level schema of a table, or None when its shape is not an object (needs schema.ts)."""
    if s == NEVER:
        out = empty_table_schema(table_name)
    elif s[0] == "object":
        out = to_json_schema(s, fmt, table_name_of)
    else:
        return None
    out["$schema"] = SCHEMA_URI
    return out


def top_level_columns(s: Shape) -> list[str]:
    if s[0] == "object":
        return sorted(s[1])
    return ["_creationTime", "_id"]

"""Stream schemas for query-functions mode, in the values the Functions API returns (format=json).

Values come as Convex's clean JSON: int64 as a base-10 string, bytes as base64, special floats
as strings. So a table's `json_schemas` entry (format=json) already describes them; it is only
relaxed (every object open to new fields, nothing required below the top, `$description` ->
`description`, `items: false` -> `{}`), since it was inferred from today's data. Without a table
schema, the schema is inferred from a page of results: each top-level field gets the JSON types
seen in it (plus null, as a later document may omit it).
"""

from __future__ import annotations

from typing import Any, Mapping

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"
_JSON_TYPES = ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"), (list, "array"),
               (dict, "object"))


def _relax(node: Any, top: bool = False) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$schema" or (key == "required" and not top):
            continue
        if key == "$description":
            out["description"] = value
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {name: _relax(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and not isinstance(value, Mapping):
            out[key] = {} if key == "items" else True
        elif key == "items":
            out["items"] = _relax(value)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_relax(sub) for sub in value]
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = True
    return out


def table_schema(convex_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A table's json_schemas (format=json) entry as a stream schema."""
    schema = _relax(convex_schema, top=True)
    schema["$schema"] = JSON_SCHEMA_DRAFT
    schema["required"] = [name for name in ("_id",) if name in schema.get("properties", {})]
    return schema


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    for python_type, json_type in _JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    return "string"


def inferred_schema(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """An open object schema whose fields are those seen in `documents`, each nullable."""
    types: dict[str, set[str]] = {}
    for document in documents:
        for name, value in document.items():
            types.setdefault(name, set()).add(_type_of(value))
    properties = {name: {"type": sorted(seen | {"null"})} for name, seen in sorted(types.items())}
    return {"$schema": JSON_SCHEMA_DRAFT, "type": "object", "properties": properties, "additionalProperties": True}

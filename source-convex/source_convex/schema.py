"""Convex's inferred JSON schemas, rewritten into Airbyte's type system.

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
"""

from __future__ import annotations

from typing import Any, Final, Mapping

from convex_shared.values import is_int64_schema

from .cdc import CDC_FIELD_SCHEMAS, TS

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

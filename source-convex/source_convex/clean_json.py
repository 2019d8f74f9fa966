"""Fallback for backends that only speak the clean `json` export format.

Some older (self-hosted) backends refuse `format=export_json` with `400 BadFormat`. In
the clean `json` format bytes and special floats already look as this source emits them
(a base64 string; "NaN" / "Infinity" / "-Infinity"), but an int64 is a base-10 STRING,
while the discovered schema promises an integer. Which strings are int64 is only known
from the table's schema, so a converter is compiled once per table from its json_schemas
entry; a table without int64 fields gets no converter at all and costs nothing per row.

Known limit (also the format's): in a union of int64 with another string-like type the
two cannot be told apart, so such values stay strings; the stream schema keeps a string
branch for them.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from convex_shared.values import int64_from_json, is_int64_schema

Converter = Callable[[Any], Any]


def _int64(value: Any) -> Any:
    """The int of an int64 string; anything else (null of a union, say) as it is."""
    if isinstance(value, str):
        try:
            return int(int64_from_json(value))
        except ValueError:
            return value
    return value


def _is_int64(node: Any) -> bool:
    return bool(is_int64_schema(node))


def _may_be_string(node: Any) -> bool:
    if not isinstance(node, Mapping):
        return node is True
    kind = node.get("type")
    if kind == "string" or (isinstance(kind, list) and "string" in kind):
        return True
    if "type" not in node and not node.get("anyOf"):
        return True  # `{}`: any value, so also a string
    return any(_may_be_string(branch) for branch in node.get("anyOf") or [])


def _object_converter(fields: Mapping[str, Converter]) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            for name, field_converter in fields.items():
                if name in value:
                    value[name] = field_converter(value[name])
        return value

    return convert


def _array_converter(item_converter: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [item_converter(item) for item in value]
        return value

    return convert


def _union_converter(string: Optional[Converter], obj: Optional[Converter], arr: Optional[Converter]) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            return string(value) if string else value
        if isinstance(value, dict):
            return obj(value) if obj else value
        if isinstance(value, list):
            return arr(value) if arr else value
        return value

    return convert


def compile_converter(node: Any) -> Optional[Converter]:
    """A function that turns the int64 strings of values of this schema into ints, or
    None when the schema holds no int64 (then values pass through untouched)."""
    if not isinstance(node, Mapping):
        return None
    if _is_int64(node):
        return _int64
    branches = node.get("anyOf")
    if isinstance(branches, list):
        return _compile_union(branches)
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        fields = {name: conv for name, sub in properties.items() if (conv := compile_converter(sub))}
        return _object_converter(fields) if fields else None
    items = node.get("items")
    if isinstance(items, Mapping):
        item_converter = compile_converter(items)
        return _array_converter(item_converter) if item_converter else None
    return None


def _compile_union(branches: list[Any]) -> Optional[Converter]:
    string_branches = [branch for branch in branches if _may_be_string(branch) or _is_int64(branch)]
    string_converter: Optional[Converter] = None
    if len(string_branches) == 1 and _is_int64(string_branches[0]):
        string_converter = _int64
    fields: dict[str, Converter] = {}
    item_converter: Optional[Converter] = None
    for branch in branches:
        if not isinstance(branch, Mapping) or _is_int64(branch):
            continue
        if isinstance(branch.get("properties"), Mapping):
            for name, sub in branch["properties"].items():
                conv = compile_converter(sub)
                if conv and name not in fields:
                    fields[name] = conv
        elif isinstance(branch.get("items"), Mapping) and item_converter is None:
            item_converter = compile_converter(branch["items"])
    object_converter = _object_converter(fields) if fields else None
    array_converter = _array_converter(item_converter) if item_converter else None
    if not (string_converter or object_converter or array_converter):
        return None
    return _union_converter(string_converter, object_converter, array_converter)

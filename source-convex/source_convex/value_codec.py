"""The value codec: Convex's export formats in, the values this source emits out.

## export_json (the format every read asks for first)

Turn values of Convex's `export_json` format into the values this source emits.

The source reads pages with `format=export_json` because it is the cheapest format to
emit: an int64 arrives as a bare JSON integer (which is exactly what the discovered schema
promises, `"type": "integer"`), floats as JSON numbers, strings, booleans, arrays and
objects as themselves. Only two Convex types arrive wrapped:

- bytes as `{"$bytes": "<base64>"}`, emitted as the base64 string itself;
- NaN and the infinities as `{"$float": "<base64 of 8 little-endian bytes>"}`, emitted as
  "NaN", "Infinity" or "-Infinity" (the string alternative the schema keeps for them).

Two ways to unwrap, both exact:

- `rewrite_wrappers` works on the raw page body before it is parsed (the shared client's
  `body_filter`): one regular expression replaces each wrapper object by its value. This
  is exact on JSON text: Convex forbids field names that start with `$`, so an object whose
  first key is `"$bytes"` / `"$float"` is always a wrapper, and the pattern `{"$bytes":`
  cannot occur inside a string, where quotes are escaped. It costs ~0.3 ms per page.
- `convert_value` walks parsed values, for whatever the rewrite did not
  recognise (a backend that writes the JSON differently, say): it runs only when a page
  still holds a marker.

The rewrite's pattern only matches a wrapper whose value decodes (base64 for `$bytes`, base64
of exactly 8 bytes for `$float`), so it never fails; anything else is left to the walk, which
checks the value and raises `BadWrapperError` for one that does not decode (the page reader
turns it into a clear error naming the table).

## The clean `json` format (the fallback)

Fallback for backends that only speak the clean `json` export format.

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

import binascii
import math
import re
import struct
from base64 import b64decode
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from convex_shared.values import int64_from_json, is_int64_schema

BYTES_KEY: Final = "$bytes"
FLOAT_KEY: Final = "$float"
_MARKERS: Final = (b'"$bytes"', b'"$float"')


#: Padded (or unpadded) standard base64, and base64 of 8 bytes (11 characters and one `=`).
_BASE64: Final = rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?"
_EIGHT_BYTES: Final = rb"[A-Za-z0-9+/]{11}="
_WRAPPER: Final = re.compile(
    rb'\{\s*"\$(?:bytes"\s*:\s*"(' + _BASE64 + rb')"|float"\s*:\s*"(' + _EIGHT_BYTES + rb')")\s*\}'
)


class BadWrapperError(ValueError):
    """A `$bytes` / `$float` wrapper whose value does not decode."""


def has_markers(raw: bytes) -> bool:
    """Whether serialised JSON may hold a `$bytes` / `$float` wrapper."""
    return _MARKERS[0] in raw or _MARKERS[1] in raw


def _unwrapped_text(match: re.Match[bytes]) -> bytes:
    encoded_bytes = match.group(1)
    if encoded_bytes is not None:
        return b'"' + encoded_bytes + b'"'
    try:
        return orjson.dumps(special_float(match.group(2).decode("ascii")))
    except BadWrapperError:  # cannot happen for what the pattern matches; the walk would report it
        return match.group(0)


def rewrite_wrappers(body: bytes) -> bytes:
    """The raw JSON `body` with every wrapper object replaced by its value's JSON."""
    if not has_markers(body):
        return body
    return _WRAPPER.sub(_unwrapped_text, body)


def page_needs_conversion(values: list[dict[str, Any]]) -> bool:
    """Whether any value of the page may hold a `$bytes` / `$float` wrapper."""
    return has_markers(orjson.dumps(values))


def special_float(encoded: Any) -> float | str:
    """The value of a `$float` wrapper: "NaN" / "Infinity" / "-Infinity", else the number.

    Convex wraps only the floats JSON cannot hold; a finite float in a wrapper (an older
    backend wrapping -0.0, say) is returned as the number.
    """
    try:
        number: float = struct.unpack("<d", b64decode(encoded, validate=True))[0]
    except (binascii.Error, struct.error, TypeError, ValueError):
        raise BadWrapperError(
            f"a {FLOAT_KEY} value that is not the base64 of 8 bytes (got {_describe(encoded)})"
        ) from None
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def special_bytes(encoded: Any) -> str:
    """The value of a `$bytes` wrapper (its base64 text, emitted as is), once checked to decode."""
    try:
        if type(encoded) is not str:
            raise TypeError
        b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise BadWrapperError(f"a {BYTES_KEY} value that is not base64 (got {_describe(encoded)})") from None
    return encoded


def _describe(value: Any) -> str:
    """What a bad wrapper held, without quoting the deployment's data: its type and size."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return "null" if value is None else type(value).__name__


def _unwrap(wrapper: dict[str, Any]) -> Any:
    """The value of a one-key object if it is a wrapper, else the object itself."""
    if BYTES_KEY in wrapper:
        return special_bytes(wrapper[BYTES_KEY])
    if FLOAT_KEY in wrapper:
        return special_float(wrapper[FLOAT_KEY])
    return wrapper


def _converted(item: Any) -> Any:
    """The value that replaces `item` in its container (`item` itself when nothing changes).

    `type(...) is` keeps the per-value cost of the walk down (documents are plain dicts and
    lists from orjson); containers are converted in place."""
    kind = type(item)
    if kind is dict:
        if len(item) == 1:
            unwrapped = _unwrap(item)
            if unwrapped is not item:
                return unwrapped
        _convert_object(item)
    elif kind is list:
        _convert_array(item)
    return item


def _convert_object(obj: dict[str, Any]) -> None:
    # Replacing values (never keys) while iterating is safe.
    for key, item in obj.items():
        replacement = _converted(item)
        if replacement is not item:
            obj[key] = replacement


def _convert_array(array: list[Any]) -> None:
    for index, item in enumerate(array):
        replacement = _converted(item)
        if replacement is not item:
            array[index] = replacement


def convert_value(value: Any) -> Any:
    """One value with every wrapper inside it (nested objects, arrays) replaced, in place
    where possible; returns the converted value."""
    return _converted(value)


# -- the clean json format ----------------------------------------------------------------

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


def _union_converter(string: Converter | None, obj: Converter | None, arr: Converter | None) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            return string(value) if string else value
        if isinstance(value, dict):
            return obj(value) if obj else value
        if isinstance(value, list):
            return arr(value) if arr else value
        return value

    return convert


def compile_converter(node: Any) -> Converter | None:
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


def _compile_union(branches: list[Any]) -> Converter | None:
    string_branches = [branch for branch in branches if _may_be_string(branch) or _is_int64(branch)]
    string_converter: Converter | None = None
    if len(string_branches) == 1 and _is_int64(string_branches[0]):
        string_converter = _int64
    fields: dict[str, Converter] = {}
    item_converter: Converter | None = None
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

"""Convex values in Python, their limits, and their three JSON renderings.

Python stands for Convex types as: None, bool, int (int64), float (float64, NaN/inf/-0.0 allowed),
str, bytes, list (array) and dict (object). Storage keeps each document twice at most:
- the clean `json` rendering (what format=json sends), and
- the lossless internal rendering (format=convex_encoded_json), only when it differs, i.e.
  when the document holds an int64, bytes, or a float that is NaN, +-inf or -0.0.
A document without those ("plain") renders identically in every format, so pages are built
from stored text with no per-value Python work.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any, Callable

from .errors import ApiError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

MAX_DOCUMENT_BYTES = 1 << 20
MAX_NESTING = 16
MAX_OBJECT_FIELDS = 1024
MAX_ARRAY_LEN = 8192
MAX_FIELD_NAME_LEN = 1024

FORMATS = {
    "json": "clean",
    "convex_clean_json": "clean",
    "convex_encoded_json": "encoded",
    "convex_json": "encoded",
    "export_json": "export",
}

# serde_json's compact output: no spaces, raw UTF-8. Object keys sorted because Convex objects are
# BTreeMaps. (Python writes 1e16 as "1e+16" where serde writes "1e16": same number to any parser.)
dumps: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def parse_format(value: str | None) -> str:
    """Map a `format` argument to "clean" | "encoded" | "export", or 400 BadFormat."""
    if value is None:
        return "clean"
    try:
        return FORMATS[value]
    except KeyError:
        raise ApiError(400, "BadFormat", f"format param must be one of [`json`]. Got {value}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _is_special(f: float) -> bool:
    return not math.isfinite(f) or (f == 0.0 and math.copysign(1.0, f) < 0)


def float_bytes(f: float) -> str:
    return _b64(struct.pack("<d", f))


def int_bytes(i: int) -> str:
    return _b64(struct.pack("<q", i))


def to_clean(v: Any) -> Any:
    """The `json` rendering as JSON-ready Python (int64 -> "123", bytes -> base64, "NaN"...)."""
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is float:
        if v != v:
            return "NaN"
        if v in (math.inf, -math.inf):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if t is int:
        return str(v)
    if t is dict:
        return {k: to_clean(x) for k, x in v.items()}
    if t is list:
        return [to_clean(x) for x in v]
    if t is bytes:
        return _b64(v)
    raise TypeError(f"not a Convex value: {t.__name__}")


def to_encoded(v: Any) -> Any:
    """The lossless internal rendering (convex_encoded_json)."""
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is float:
        return {"$float": float_bytes(v)} if _is_special(v) else v
    if t is int:
        return {"$integer": int_bytes(v)}
    if t is dict:
        return {k: to_encoded(x) for k, x in v.items()}
    if t is list:
        return [to_encoded(x) for x in v]
    if t is bytes:
        return {"$bytes": _b64(v)}
    raise TypeError(f"not a Convex value: {t.__name__}")


def to_export(v: Any) -> Any:
    """export_json: int64 as a bare integer, finite floats (even -0.0) as numbers, else $float/$bytes."""
    t = type(v)
    if t is str or t is bool or v is None or t is int:
        return v
    if t is float:
        return v if math.isfinite(v) else {"$float": float_bytes(v)}
    if t is dict:
        return {k: to_export(x) for k, x in v.items()}
    if t is list:
        return [to_export(x) for x in v]
    if t is bytes:
        return {"$bytes": _b64(v)}
    raise TypeError(f"not a Convex value: {t.__name__}")


RENDERERS: dict[str, Callable[[Any], Any]] = {"clean": to_clean, "encoded": to_encoded, "export": to_export}


def is_plain(v: Any) -> bool:
    """True when every format renders `v` the same way."""
    t = type(v)
    if t is str or t is bool or v is None:
        return True
    if t is float:
        return not _is_special(v)
    if t is dict:
        return all(is_plain(x) for x in v.values())
    if t is list:
        return all(is_plain(x) for x in v)
    return False


def _decode_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        (key, val), = obj.items()
        if key == "$integer":
            return struct.unpack("<q", base64.b64decode(val))[0]
        if key == "$float":
            return struct.unpack("<d", base64.b64decode(val))[0]
        if key == "$bytes":
            return base64.b64decode(val)
    return obj


def from_encoded_text(text: str) -> Any:
    """Parse the internal rendering back to Python values (a bare number is always a float64)."""
    return json.loads(text, object_hook=_decode_hook, parse_int=float)


def render_document(doc: dict[str, Any], plain: bool | None = None) -> tuple[str, str | None, str | None]:
    """(clean text, internal text, export_json text); the last two are None when the document is plain.

    export_json is rendered once at write time, because re-encoding a stored document on every
    read made an export_json snapshot page ~3x slower to serve than a clean-json one."""
    if plain if plain is not None else is_plain(doc):
        return dumps(doc), None, None
    return dumps(to_clean(doc)), dumps(to_encoded(doc)), dumps(to_export(doc))


def stored_to_python(clean: str, encoded: str | None) -> dict[str, Any]:
    return from_encoded_text(encoded if encoded is not None else clean)


_valid_names: dict[tuple[str, bool], bool] = {}


def check_field_name(name: Any, top_level: bool) -> None:
    if _valid_names.get((name, top_level)) if isinstance(name, str) else False:
        return
    if not isinstance(name, str):
        raise ApiError(400, "InvalidFieldName", f"Field names must be strings, got {name!r}")
    if not name:
        raise ApiError(400, "InvalidFieldName", "Empty field names are disallowed.")
    if len(name) > MAX_FIELD_NAME_LEN:
        raise ApiError(
            400, "InvalidFieldName", f"Field name {name[:64]!r}... is longer than {MAX_FIELD_NAME_LEN} characters"
        )
    if name.startswith("$"):
        raise ApiError(400, "InvalidFieldName", f"Field name {name[:64]!r} cannot start with '$'")
    if top_level and name.startswith("_"):
        raise ApiError(400, "InvalidFieldName", f"Top-level field name {name[:64]!r} cannot start with '_' (reserved for system fields)")
    if not (name.isascii() and name.isprintable()):
        raise ApiError(400, "InvalidFieldName", f"Field name {name[:64]!r} must be non-control ASCII")
    if len(_valid_names) < 100_000:
        _valid_names[(name, top_level)] = True


def check_value(v: Any, depth: int = 0) -> None:
    """Reject what Convex cannot store: other types, out-of-range ints, limits on shape.

    Codes as the backend names them (ArrayTooLong, TooManyFieldsError, InvalidDocumentError); other
    shape problems are ours: 400 InvalidValue.
    """
    t = type(v)
    if t is str or t is float or t is bool or v is None or t is bytes:
        return
    if t is int:
        if not INT64_MIN <= v <= INT64_MAX:
            raise ApiError(400, "InvalidValue", f"Integer {v} does not fit in an int64")
        return
    if t is not list and t is not dict:
        raise ApiError(400, "InvalidValue", f"Unsupported value type {t.__name__}")
    if depth >= MAX_NESTING:
        raise ApiError(400, "InvalidDocumentError", f"Document is too nested (nested more than {MAX_NESTING} levels deep)")
    if t is list:
        if len(v) > MAX_ARRAY_LEN:
            raise ApiError(400, "ArrayTooLong", f"Array length is too long ({len(v)} > maximum length {MAX_ARRAY_LEN})")
        for x in v:
            check_value(x, depth + 1)
        return
    if len(v) > MAX_OBJECT_FIELDS:
        raise ApiError(400, "TooManyFieldsError", f"Object has too many fields ({len(v)} > maximum number {MAX_OBJECT_FIELDS})")
    for k, x in v.items():
        check_field_name(k, top_level=False)
        check_value(x, depth + 1)


def check_document_fields(fields: dict[str, Any]) -> None:
    """A user document body (without _id/_creationTime): field names, values, limits."""
    if type(fields) is not dict:
        raise ApiError(400, "InvalidValue", "A document must be an object")
    if len(fields) + 2 > MAX_OBJECT_FIELDS:  # _id and _creationTime count too
        raise ApiError(400, "TooManyFieldsError", f"Object has too many fields ({len(fields) + 2} > maximum number {MAX_OBJECT_FIELDS})")
    for k, x in fields.items():
        check_field_name(k, top_level=True)
        check_value(x, 1)

"""Convex values in the clean `json` export format, as small pure functions.

In that format an int64 is a base-10 string, bytes are padded base64, and the float64 values
JSON cannot hold are the strings "NaN", "Infinity" and "-Infinity". `json_schemas` marks
such fields with a `$description`, which the predicates here recognise.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, Final, Mapping

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

INT64_DESCRIPTION: Final = "int64 represented as base10 string"
BYTES_DESCRIPTION: Final = "base64 bytes"
FLOAT64_DESCRIPTION: Final = "float64"

_INT64 = re.compile(r"-?[0-9]+", re.ASCII)
_ID_DESCRIPTION = re.compile(r"Id\((?P<table>.*)\)", re.DOTALL)
_SPECIAL_FLOATS: Final[Mapping[str, float]] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def int64_to_json(value: int) -> str:
    """An int64 as Convex writes it: a base-10 string."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"int64 must be an int, not {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{value} is outside the int64 range")
    return str(value)


def int64_from_json(text: str) -> int:
    """The int from a base-10 int64 string; rejects anything Convex would not write."""
    if not isinstance(text, str) or not _INT64.fullmatch(text):
        raise ValueError(f"not a base-10 int64 string: {text!r}")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{text} is outside the int64 range")
    return value


def bytes_to_json(value: bytes) -> str:
    """Bytes as padded standard base64."""
    return base64.b64encode(value).decode("ascii")


def bytes_from_json(text: str) -> bytes:
    """Bytes from padded standard base64; rejects other alphabets and garbage."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError(f"not padded base64: {text!r:.80}") from None


def float_to_json(value: float) -> float | str:
    """A float64 as Convex writes it: a number, or "NaN" / "Infinity" / "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def float_from_json(value: float | int | str) -> float:
    """A float64 from a JSON number or one of the three special strings."""
    if isinstance(value, str):
        try:
            return _SPECIAL_FLOATS[value]
        except KeyError:
            raise ValueError(f"not a float64: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a float64: {value!r}")
    return float(value)


def is_special_float(value: Any) -> bool:
    """True for the strings that stand for NaN and the infinities."""
    return isinstance(value, str) and value in _SPECIAL_FLOATS


def _description(schema: Any) -> Any:
    return schema.get("$description") if isinstance(schema, Mapping) else None


def is_int64_schema(schema: Any) -> bool:
    """True for json_schemas' rendering of an int64 field."""
    return bool(_description(schema) == INT64_DESCRIPTION)


def is_bytes_schema(schema: Any) -> bool:
    """True for json_schemas' rendering of a bytes field."""
    return bool(_description(schema) == BYTES_DESCRIPTION)


def is_float64_schema(schema: Any) -> bool:
    """True for a float64 field that may hold NaN / Infinity (rendered as number-or-string)."""
    return bool(_description(schema) == FLOAT64_DESCRIPTION)


def id_table(schema: Any) -> str | None:
    """The table an Id field points to (`Id(users)` -> "users"), else None."""
    description = _description(schema)
    if not isinstance(description, str):
        return None
    match = _ID_DESCRIPTION.fullmatch(description)
    return match.group("table") if match else None

"""Convex values in the clean `json` export format: the int64 rules both connectors' readers need.

In that format an int64 is a base-10 string (bytes are padded base64 and the float64 values JSON
cannot hold are "NaN", "Infinity" and "-Infinity", which the source emits as they are). `json_schemas`
marks int64 fields with a `$description`, which `is_int64_schema` recognises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

INT64_DESCRIPTION: Final = "int64 represented as base10 string"

_INT64 = re.compile(r"-?[0-9]+", re.ASCII)


def int64_from_json(text: str) -> int:
    """The int from a base-10 int64 string; rejects anything Convex would not write."""
    if not isinstance(text, str) or not _INT64.fullmatch(text):
        raise ValueError(f"not a base-10 int64 string: {text!r}")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{text} is outside the int64 range")
    return value


def is_int64_schema(schema: Any) -> bool:
    """True for json_schemas' rendering of an int64 field."""
    return isinstance(schema, Mapping) and schema.get("$description") == INT64_DESCRIPTION

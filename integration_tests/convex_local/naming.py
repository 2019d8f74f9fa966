"""How streaming import turns Airbyte stream and field names into Convex names.

Our own implementation of the contract's rule (the client has its own, so each tests the other).
One mapping for both kinds of name: a name that is already valid for its kind and does not start
with `_` is kept; anything else becomes "source_" + slug(name), where slug transliterates to ASCII
(anyascii), lowercases, turns each run of characters outside [a-z0-9] into one "_" and trims "_"
at both ends. What "valid" means differs by kind, as in the backend:
- a table name is an identifier: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters;
- a field name is any non-control ASCII string of at most 1024 characters not starting with `$`
  (so `first name` and `a.b` are kept as they are, while `_id`, `$price` and `Straße` are not).
Inside one object, kept keys claim their names first; renamed keys, in input order, take their
mapped name, mapping again while it is already taken.
"""

from __future__ import annotations

import re
from typing import Any

from anyascii import anyascii

PREFIX = "source_"
MAX_TABLE_NAME_LEN = 64
MAX_FIELD_NAME_LEN = 1024
_KEPT_TABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,%d}\Z" % (MAX_TABLE_NAME_LEN - 1))
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def is_kept_table(name: str) -> bool:
    """True when import stores a table under `name` unchanged."""
    return _KEPT_TABLE.match(name) is not None


def is_kept_field(name: str) -> bool:
    """True when import stores a field under `name` unchanged (a valid, non-system field name)."""
    return (
        0 < len(name) <= MAX_FIELD_NAME_LEN  # Convex disallows empty field names
        and not name.startswith(("_", "$"))
        and name.isascii()
        and name.isprintable()  # for ASCII: no control characters (0x00-0x1f, 0x7f)
    )


def slug(name: str) -> str:
    return _NON_SLUG.sub("_", anyascii(name).lower()).strip("_")


def table_name(name: str) -> str:
    """One stream name as the table import stores it (may still be too long: the caller checks)."""
    return name if is_kept_table(name) else PREFIX + slug(name)


def field_name(name: str) -> str:
    """One object key as import stores it, ignoring collisions (see map_object)."""
    return name if is_kept_field(name) else PREFIX + slug(name)


def map_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Rename every key of `obj`, recursively (nested objects and inside arrays)."""
    kept = [is_kept_field(k) for k in obj]
    taken = {k for k, keep in zip(obj, kept) if keep}
    out: dict[str, Any] = {}
    for (key, value), keep in zip(obj.items(), kept):
        if keep:
            out[key] = map_value(value)
    for (key, value), keep in zip(obj.items(), kept):
        if keep:
            continue
        name = field_name(key)
        while name in taken:
            name = PREFIX + slug(name)
        taken.add(name)
        out[name] = map_value(value)
    return out


def map_value(value: Any) -> Any:
    if isinstance(value, dict):
        return map_object(value)
    if isinstance(value, list):
        return [map_value(v) for v in value]
    return value

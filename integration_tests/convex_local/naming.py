"""How streaming import turns Airbyte stream and field names into Convex names.

Written from the backend (crates/application/src/airbyte_import.rs `valid_json`,
crates/application/src/valid_identifier.rs, crates/convex/sync_types/src/identifier.rs), not
from the connector's code, so each tests the other.

- A name valid for its kind that does not start with `_` is kept; anything else becomes
  `source_` + slug(name). A table name must be an identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most
  64 characters, not only underscores); a field name any non-control ASCII text of at most 1024
  characters not starting with `$` (the empty name is kept).
- The slug is `slugify!(name, separator = "_")` from the Rust `slugify` 0.1.0 crate: transliterate
  with `unidecode` 0.3.0, lowercase, turn each run of characters outside [a-z0-9] into one `_`,
  trim `_` at both ends.
- Renaming is per object: a renamed key that equals a key of the same (original) object gets
  `source_` prefixed again; after 3 rounds the request fails with a plain error (a 500). Two
  renamed keys that reach one name collapse, the later value winning.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import internal_error
from .transliteration import unidecode

PREFIX = "source_"
MAX_TABLE_NAME_LEN = 64
MAX_FIELD_NAME_LEN = 1024
DUPLICATE_FIELD_LIMIT = 3
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,%d}\Z" % (MAX_TABLE_NAME_LEN - 1))
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def is_identifier(name: str) -> bool:
    return _IDENTIFIER.match(name) is not None and name.strip("_") != ""


def is_kept_table(name: str) -> bool:
    """True when import stores a table under `name` unchanged (a non-system identifier)."""
    return is_identifier(name) and not name.startswith("_")


def is_field_name(name: str) -> bool:
    """Convex's `check_valid_field_name`: non-control ASCII, at most 1024 chars, no leading `$`."""
    return (
        len(name) <= MAX_FIELD_NAME_LEN
        and not name.startswith("$")
        and all(" " <= c <= "~" for c in name)
    )


def is_kept_field(name: str) -> bool:
    """True when import stores a field under `name` unchanged (a valid, non-system field name)."""
    return is_field_name(name) and not name.startswith("_")


def slug(name: str) -> str:
    return _NON_SLUG.sub("_", unidecode(name).lower()).strip("_")


def table_name(name: str) -> str:
    """One stream name as the table import stores it, or a 500 (the backend's bare error)."""
    if is_kept_table(name):
        return name
    renamed = PREFIX + slug(name)
    if not is_identifier(renamed):
        raise internal_error()  # "Failed to create a valid identifier."
    return renamed


def field_name(name: str) -> str:
    """One object key as import stores it, ignoring collisions (see map_object)."""
    return name if is_kept_field(name) else PREFIX + slug(name)


def map_object_keys(keys: list[str]) -> list[str]:
    """The stored name of each key of one object, in order; a 500 past 3 rounds of renaming."""
    present = set(keys)
    out = []
    for key in keys:
        name = field_name(key)
        modified = name != key
        for _ in range(DUPLICATE_FIELD_LIMIT):
            if modified != (name in present):
                break
            name = PREFIX + name
            modified = True
        else:
            raise internal_error()  # "Too many duplicate field names found for modified field"
        out.append(name)
    return out


def map_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Rename every key of `obj`, recursively (nested objects and inside arrays)."""
    out: dict[str, Any] = {}
    for name, value in zip(map_object_keys(list(obj)), obj.values()):
        out[name] = map_value(value)
    return out


def map_value(value: Any) -> Any:
    if isinstance(value, dict):
        return map_object(value)
    if isinstance(value, list):
        return [map_value(v) for v in value]
    return value

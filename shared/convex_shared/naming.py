"""The table and field names streaming import stores, so the destination can predict them.

One mapping for both kinds of name: a name that is already valid for its kind and does not
start with `_` is kept; anything else becomes `source_` + slug, where the slug transliterates
to ASCII, lowercases, keeps `[a-z0-9]`, turns each run of other characters into one `_` and
trims `_` at both ends. What "valid" means differs by kind, as in the backend:

- a table name is an identifier, `[A-Za-z_][A-Za-z0-9_]*` of at most 64 characters;
- a field name is any non-control ASCII text of at most 1024 characters not starting with `$`
  (so `first name` and `a.b` are stored as they are, while `_id` and `Straße` are renamed).

Within one object, kept keys claim their names first; renamed keys then take theirs in input
order, mapping again while taken.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from anyascii import anyascii

PREFIX: Final = "source_"
MAX_TABLE_NAME_LEN: Final = 64
MAX_FIELD_NAME_LEN: Final = 1024
_KEPT_TABLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,%d}" % (MAX_TABLE_NAME_LEN - 1), re.ASCII)
_NOT_SLUG = re.compile(r"[^a-z0-9]+", re.ASCII)


def slug(name: str) -> str:
    """ASCII transliteration, lowercased, runs of other characters -> `_`, trimmed."""
    return _NOT_SLUG.sub("_", anyascii(name).lower()).strip("_")


def is_kept_table(name: str) -> bool:
    """True when import stores a table under `name` unchanged."""
    return _KEPT_TABLE.fullmatch(name) is not None


def is_kept(name: str) -> bool:
    """True when import stores a field under `name` unchanged (a valid, non-system field name)."""
    return (
        0 < len(name) <= MAX_FIELD_NAME_LEN
        and not name.startswith(("_", "$"))
        and name.isascii()
        and name.isprintable()  # for ASCII text: no control characters
    )


@functools.lru_cache(maxsize=65536)
def convex_table_name(name: str) -> str:
    """A stream's table name as import stores it (`*name!of.table` -> `source_name_of_table`).
    It may still be over 64 characters: the caller must check."""
    return name if is_kept_table(name) else PREFIX + slug(name)


@functools.lru_cache(maxsize=65536)
def convex_field_name(name: str) -> str:
    """One object key as import stores it, before collisions (`_id` -> `source_id`)."""
    return name if is_kept(name) else PREFIX + slug(name)


def map_keys(keys: list[str]) -> list[str]:
    """Stored names for the keys of one object, in the same order, with the collision rule."""
    taken = {key for key in keys if is_kept(key)}
    if len(taken) == len(keys):
        return keys
    mapped = []
    for key in keys:
        if is_kept(key):
            mapped.append(key)
            continue
        name = convex_field_name(key)
        while name in taken:
            name = PREFIX + slug(name)
        taken.add(name)
        mapped.append(name)
    return mapped


def map_value(value: Any) -> Any:
    """`value` with every object key inside it (nested, and inside arrays) mapped."""
    if isinstance(value, dict):
        return map_document(value)
    if isinstance(value, list):
        return [map_value(item) for item in value]
    return value


def map_document(data: dict[str, Any]) -> dict[str, Any]:
    """A document's keys as import stores them, recursively."""
    keys = list(data)
    return {name: map_value(data[key]) for key, name in zip(keys, map_keys(keys), strict=True)}

"""The table and field names streaming import stores, so the destination can predict them.

A name matching `^[A-Za-z][A-Za-z0-9_]*$` is kept; anything else becomes `source_` + slug,
where the slug transliterates to ASCII, lowercases, keeps `[a-z0-9]`, turns each run of other
characters into one `_` and trims `_` at both ends. Within one object, kept keys claim their
names first; renamed keys then take theirs in input order, mapping again while taken.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from anyascii import anyascii

PREFIX: Final = "source_"
_KEPT = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)
_NOT_SLUG = re.compile(r"[^a-z0-9]+", re.ASCII)


def slug(name: str) -> str:
    """ASCII transliteration, lowercased, runs of other characters -> `_`, trimmed."""
    return _NOT_SLUG.sub("_", anyascii(name).lower()).strip("_")


def is_kept(name: str) -> bool:
    """True when import stores `name` unchanged."""
    return _KEPT.fullmatch(name) is not None


@functools.lru_cache(maxsize=65536)
def convex_name(name: str) -> str:
    """One table or field name as import stores it (`_id` -> `source_id`)."""
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
        name = convex_name(key)
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

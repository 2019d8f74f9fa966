"""How streaming import turns Airbyte stream and field names into Convex names.

Our own implementation of the rule in the working agreement (the client has its own, so each
tests the other): a name matching ^[A-Za-z][A-Za-z0-9_]*$ is kept; anything else becomes
"source_" + slug(name), where slug transliterates to ASCII (anyascii), lowercases, turns each run of
characters outside [a-z0-9] into one "_" and trims "_" at both ends. Inside one object, kept keys
claim their names first; renamed keys, in input order, take their mapped name, mapping again while
it is already taken.
"""

from __future__ import annotations

import re
from typing import Any

from anyascii import anyascii

PREFIX = "source_"
_KEPT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def is_kept(name: str) -> bool:
    return _KEPT.match(name) is not None


def slug(name: str) -> str:
    return _NON_SLUG.sub("_", anyascii(name).lower()).strip("_")


def convex_name(name: str) -> str:
    """One table or field name as import stores it."""
    return name if is_kept(name) else PREFIX + slug(name)


def map_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Rename every key of `obj`, recursively (nested objects and inside arrays)."""
    taken = {k for k in obj if is_kept(k)}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if is_kept(key):
            out[key] = map_value(value)
    for key, value in obj.items():
        if is_kept(key):
            continue
        name = convex_name(key)
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

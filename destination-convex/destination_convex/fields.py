"""One stream's top-level field names, decided once and applied to every record on our side.

Convex renames each record's own keys (`_id` -> `source_id`, or `source_source_id` when *that
record* also has a `source_id`), so records of one stream can store the same field under
different names, and a delete record that carries only `_id` misses an index built on
`source_source_id` (`400 MissingPrimaryKeyValue`). Every Convex -> Convex -> Convex chain has
such streams: a table loaded by this destination holds `source_id` next to its own `_id`.

So the destination renames top-level keys itself, with one mapping per stream, and sends only
names Convex keeps as they are (valid, non-system field names). The mapping is injective:
- the stream's declared properties come first, in schema order: a name Convex would keep is
  kept; any other takes Convex's name for it (`source_` + slug), prefixed with `source_` again
  while that name is taken by another field of the stream;
- a key a record carries that the schema does not declare gets its name the same way when first
  seen, and keeps it for the rest of the sync.
Nested objects are sent as they are; Convex renames their keys per object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from convex_shared.naming import MAX_FIELD_NAME_LEN, PREFIX, convex_field_name

#: The stored name of Convex's delete flag.
DELETE_FLAG: Final = "source_ab_cdc_deleted_at"


class FieldNameError(ValueError):
    """A key has no stored name within Convex's 1,024-character limit for field names."""


class FieldMapping:
    """source key -> stored name for the top-level keys of one stream's records."""

    def __init__(self, declared: Iterable[str]) -> None:
        self._names: dict[str, str] = {}
        self._taken: set[str] = set()
        keys = list(dict.fromkeys(declared))
        for key in keys:  # kept names claim themselves before any renamed key looks
            if convex_field_name(key) == key:
                self._claim(key, key)
        for key in keys:
            if key not in self._names:
                self._assign(key)
        #: key tuple of a record -> its stored names, or None when every key is kept as is.
        self._by_keys: dict[tuple[str, ...], tuple[str, ...] | None] = {}

    @property
    def renamed(self) -> list[tuple[str, str]]:
        """(source key, stored name) for every key stored under another name, declared ones first."""
        return [(key, name) for key, name in self._names.items() if key != name]

    def name(self, key: str) -> str:
        """The stored name of one top-level key (assigned now if it is new)."""
        found = self._names.get(key)
        return found if found is not None else self._assign(key)

    def apply(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with its top-level keys renamed (the same dict when nothing changes)."""
        keys = tuple(data)
        names = self._by_keys.get(keys, ())
        if names == ():
            names = self._learn(keys)
        if names is None:
            return data
        return dict(zip(names, data.values(), strict=True))

    def _learn(self, keys: tuple[str, ...]) -> tuple[str, ...] | None:
        names = tuple(self.name(key) for key in keys)
        found = None if names == keys else names
        if len(self._by_keys) >= 4096:  # a stream's records share a few key sets; bound odd ones
            self._by_keys.clear()
        self._by_keys[keys] = found
        return found

    def _assign(self, key: str) -> str:
        name = convex_field_name(key)
        while name in self._taken:
            name = PREFIX + name
        if len(name) > MAX_FIELD_NAME_LEN:
            raise FieldNameError(
                f"field '{key[:80]}' would be stored as a name of {len(name)} characters; Convex allows at most "
                f"{MAX_FIELD_NAME_LEN}"
            )
        self._claim(key, name)
        return name

    def _claim(self, key: str, name: str) -> None:
        self._names[key] = name
        self._taken.add(name)

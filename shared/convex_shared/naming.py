"""The table and field names streaming import stores, so the destination can predict them.

One mapping for both kinds of name: a name that is already valid for its kind and does not
start with `_` is kept; anything else becomes `source_` + slug. What "valid" means differs by
kind, as in the backend:

- a table name is an identifier, `[A-Za-z_][A-Za-z0-9_]*` of at most 64 characters;
- a field name is any non-control ASCII text of at most 1024 characters not starting with `$`
  (so `first name`, `Reading Time (min)` and `a.b` are stored as they are, while `_id` and
  `Straße` are renamed). The empty name `""` is kept.

The slug is the Rust `slugify` 0.1.0 crate's, over the `unidecode` 0.3.0 crate's table: each
character is transliterated with that table (ideographs become a syllable and a space, so
`顧客ID` -> `gu_ke_id`), the result lowercased, every run of characters outside `[a-z0-9]` turned
into one `_`, and `_` trimmed at both ends. That crate's table is Sean M. Burke's
Text::Unidecode 1.30 (Perl; Artistic License); it ships here as `text_unidecode_1_30.json.gz`,
taken from Debian's `libtext-unidecode-perl` 1.30 by `tools/build_transliteration_table.py`
(notice in `text_unidecode_1_30.LICENSE`). We ship the table rather than depend on a Python
package because none reproduces it: PyPI `Unidecode` is GPL and differs on 22,069 of the 65,535
code points, `text-unidecode` (older Text::Unidecode data) on 140, and `anyascii` (ISC) on 57,836.

Collisions are resolved per object, the way `airbyte_import.rs` does: a renamed key whose new
name is already a key *of that same object* is prefixed with `source_` again, at most 3 times in
all (then Convex fails the request with a plain 500); two renamed keys reaching the same name
collapse into one field (the later value wins).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from importlib import resources
from typing import Any, Final

PREFIX: Final = "source_"
MAX_TABLE_NAME_LEN: Final = 64
MAX_FIELD_NAME_LEN: Final = 1024
#: Rounds of `source_` prefixing Convex tries before giving up (DUPLICATE_FIELD_LIMIT).
RENAME_ROUNDS: Final = 3
_KEPT_TABLE = re.compile(rf"[A-Za-z][A-Za-z0-9_]{{0,{MAX_TABLE_NAME_LEN - 1}}}", re.ASCII)
_NOT_SLUG = re.compile(r"[^a-z0-9]+", re.ASCII)


class RenameLimitError(ValueError):
    """A key still collides after Convex's 3 rounds of renaming (Convex answers a plain 500)."""


@functools.lru_cache(maxsize=1)
def _table() -> tuple[str, ...]:
    raw = resources.files("convex_shared").joinpath("text_unidecode_1_30.json.gz").read_bytes()
    return tuple(json.loads(gzip.decompress(raw)))


def transliterate(name: str) -> str:
    """`unidecode` 0.3.0 (Text::Unidecode 1.30): each character through its table; past U+FFFE, nothing."""
    table = _table()
    return "".join(table[code] if (code := ord(char)) < len(table) else "" for char in name)


def slug(name: str) -> str:
    """`slugify!(name, separator = "_")` as the backend calls it."""
    return _NOT_SLUG.sub("_", transliterate(name).lower()).strip("_")


def is_kept_table(name: str) -> bool:
    """True when import stores a table under `name` unchanged."""
    return _KEPT_TABLE.fullmatch(name) is not None


def is_kept(name: str) -> bool:
    """True when import stores a field under `name` unchanged (a valid, non-system field name)."""
    return (
        len(name) <= MAX_FIELD_NAME_LEN
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
    """Stored names for the keys of one object, in the same order (duplicates mean a collapse).

    Raises RenameLimitError when a key would need more than 3 rounds of renaming."""
    present = set(keys)
    mapped = []
    for key in keys:
        name = convex_field_name(key)
        if name == key:
            mapped.append(key)
            continue
        for _ in range(RENAME_ROUNDS):
            if name not in present:
                break
            name = PREFIX + name
        else:
            raise RenameLimitError(f"field {key!r} still collides after {RENAME_ROUNDS} renames")
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
    """A document's keys as import stores them, recursively (collapsed keys: the later wins)."""
    keys = list(data)
    return {name: map_value(data[key]) for key, name in zip(keys, map_keys(keys), strict=True)}

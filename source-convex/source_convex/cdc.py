"""The CDC fields every record carries, computed from Convex's integer `_ts`.

Convex stamps each document revision with `_ts`, nanoseconds since the Unix epoch, as an
integer. Airbyte's CDC convention adds three fields that destinations use to order and
apply changes:

- `_ab_cdc_lsn`: the log position, `_ts` itself (an integer, so it orders exactly);
- `_ab_cdc_updated_at`: when the revision was written, RFC 3339 in UTC with a `Z` and all
  nine fractional digits (`2026-11-21T08:42:19.123456789Z`);
- `_ab_cdc_deleted_at`: the same instant for a delete, else null.

The timestamp is built from the integer with `divmod`, never through a float: a float has
only ~16 significant digits, so `ts / 1e9` loses the last hundreds of nanoseconds and can
even round into the next second. The per-second prefix is cached because the documents of
one page usually share a handful of seconds, which keeps this off the hot path's profile.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Final

CDC_LSN: Final = "_ab_cdc_lsn"
CDC_UPDATED_AT: Final = "_ab_cdc_updated_at"
CDC_DELETED_AT: Final = "_ab_cdc_deleted_at"
DELETED: Final = "_deleted"
TS: Final = "_ts"

_NS_PER_S: Final = 1_000_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=8192)
def _second_prefix(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a whole second since the epoch, in UTC."""
    moment = _EPOCH + timedelta(seconds=seconds)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def rfc3339_from_ns(ns: int) -> str:
    """RFC 3339 UTC timestamp of `ns` nanoseconds since the epoch, exact to the nanosecond."""
    seconds, nanos = divmod(ns, _NS_PER_S)
    return f"{_second_prefix(seconds)}.{nanos:09d}Z"


def add_cdc_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Add the CDC fields to one exported row, in place, and return it.

    Change-log rows carry `_deleted`; snapshot rows do not, and are live documents, so they
    get `_deleted: false`. A delete row is only `_id` and the routing fields: its
    `_ab_cdc_deleted_at` is the delete's own timestamp.
    """
    ts = document[TS]
    updated_at = rfc3339_from_ns(ts)
    document[CDC_LSN] = ts
    document[CDC_UPDATED_AT] = updated_at
    if document.get(DELETED):
        document[CDC_DELETED_AT] = updated_at
    else:
        document[DELETED] = False
        document[CDC_DELETED_AT] = None
    return document


#: The JSON schemas of the fields `add_cdc_fields` writes (and of `_deleted`, which it
#: guarantees). The timestamps stay plain strings, as the incumbent declared them, so that
#: existing connections see no column type change on upgrade.
CDC_FIELD_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    CDC_LSN: {
        "type": "integer",
        "description": "Change-log position of this revision: Convex's _ts, nanoseconds since the Unix epoch.",
    },
    CDC_UPDATED_AT: {
        "type": "string",
        "description": "When this revision was written, RFC 3339 in UTC with nanoseconds.",
    },
    CDC_DELETED_AT: {
        "type": ["string", "null"],
        "description": "When the document was deleted (RFC 3339 in UTC with nanoseconds), or null while it exists.",
    },
    DELETED: {
        "type": "boolean",
        "description": "True when this record reports the document's deletion (then only _id is set).",
    },
}

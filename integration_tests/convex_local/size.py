"""Convex's own size accounting for values and documents, and its write-rate bookkeeping.

From crates/value/src/size.rs and lib.rs `impl Size for ConvexValue`: null and booleans count
1 byte, int64 and float64 9 (a tag and 8 bytes), a string or bytes value its length plus 2, an
array 2 plus its items, an object 2 plus, per field, the name's length, 1, and the value. A
document's size includes its `_id` and `_creationTime` fields (crates/common/src/document.rs
MAX_USER_SIZE: 1 MiB). Nesting: scalars 0, an array or object 1 + its deepest child; a document
may nest 16 levels (MAX_DOCUMENT_NESTING).

Write bytes (what the deployment's write-throughput window counts, committer.rs): per document
log entry its timestamp (8), id (16 + 16), the new document's size and, for updates and deletes,
the previous timestamp (8); plus one entry per index touched, which we count as 88 bytes each
(timestamp 8, index id 16, a key of about 32, the document id 32) for `by_id`,
`by_creation_time` and the primary-key index when there is one.
"""

from __future__ import annotations

from typing import Any

MAX_DOCUMENT_SIZE = 1 << 20
MAX_DOCUMENT_NESTING = 16
#: TRANSACTION_MAX_USER_WRITE_SIZE_BYTES and TRANSACTION_MAX_NUM_USER_WRITES (knobs.rs).
TRANSACTION_MAX_BYTES = 1 << 24
TRANSACTION_MAX_WRITES = 16_000
#: TRANSACTION_MAX_READ_SET_INTERVALS: each dedup lookup reads one index interval.
TRANSACTION_MAX_READ_INTERVALS = 4096
LOG_ENTRY_BYTES = 8 + 32
INDEX_ENTRY_BYTES = 88


def value_size(v: Any) -> int:
    t = type(v)
    if t is str:
        return len(v.encode("utf-8")) + 2 if not v.isascii() else len(v) + 2
    if t is float or t is int:
        return 9
    if v is None or t is bool:
        return 1
    if t is bytes:
        return len(v) + 2
    if t is list:
        return 2 + sum(value_size(x) for x in v)
    if t is dict:
        return 2 + sum(len(k) + 1 + value_size(x) for k, x in v.items())
    raise TypeError(f"not a Convex value: {t.__name__}")


def system_fields_size(doc_id: str) -> int:
    """What `_id` and `_creationTime` add to a document's size."""
    return (len("_id") + 1 + len(doc_id) + 2) + (len("_creationTime") + 1 + 9)


def write_bytes(document_size: int, *, update: bool, indexes: int) -> int:
    """The write-throughput bytes of one document write (document_size 0 for a delete)."""
    return LOG_ENTRY_BYTES + document_size + (8 if update else 0) + indexes * INDEX_ENTRY_BYTES

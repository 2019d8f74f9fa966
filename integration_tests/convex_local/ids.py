"""Convex document ids, table ("tablet") ids and the base32 alphabet they use.

A document id is `base32(vint(table_number) + 16 random bytes + fletcher16 footer)` in Crockford's
alphabet, lowercase, like the real backend (crates/value/src/id_v6.rs). Inside one table, ids of
the same length sort like their bytes, which is the order list_snapshot pages in.
"""

from __future__ import annotations

import base64
import random
import string

_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CONVEX = "0123456789abcdefghjkmnpqrstvwxyz"
_TO_CONVEX = str.maketrans(_STANDARD, _CONVEX)
_FROM_CONVEX = str.maketrans(_CONVEX, _STANDARD)
_CONVEX_CHARS = frozenset(_CONVEX)

# User tables get numbers from here, as on a real deployment (system tables sit below).
FIRST_USER_TABLE_NUMBER = 10001
_INTERNAL_ID_LEN = 16
_TABLET_ALPHABET = string.digits + string.ascii_letters
TABLET_ID_LEN = 22


def base32_encode(data: bytes) -> str:
    """Convex's base32: Crockford's alphabet, lowercase, no padding."""
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_CONVEX)


def base32_decode(text: str) -> bytes:
    """The inverse of base32_encode; ValueError on a character outside the alphabet."""
    if not set(text) <= _CONVEX_CHARS:
        raise ValueError("not Convex base32")
    padded = text.translate(_FROM_CONVEX)
    padded += "=" * (-len(padded) % 8)
    out = base64.b32decode(padded)
    return out[: len(text) * 5 // 8]


def _vint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) & 0xFF
        c1 = (c1 + c0) & 0xFF
    return (c1 << 8) | c0


def encode_id(table_number: int, internal_id: bytes) -> str:
    """The `_id` string of a document."""
    head = _vint(table_number) + internal_id
    return base32_encode(head + _fletcher16(head).to_bytes(2, "little"))


def decode_id(text: str) -> tuple[int, bytes] | None:
    """(table_number, internal_id) of a valid id string, else None."""
    if not 31 <= len(text) <= 37:
        return None
    try:
        raw = base32_decode(text)
    except ValueError:
        return None
    number = shift = pos = 0
    while True:
        if pos >= len(raw) or pos >= 5:
            return None
        byte = raw[pos]
        number |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if byte < 0x80:
            break
    if number == 0 or len(raw) != pos + _INTERNAL_ID_LEN + 2:
        return None
    head, footer = raw[:-2], raw[-2:]
    if _fletcher16(head) != int.from_bytes(footer, "little"):
        return None
    return number, raw[pos:-2]


def table_number_of(text: str) -> int | None:
    decoded = decode_id(text)
    return decoded[0] if decoded else None


def min_id(table_number: int) -> str:
    """An id below every real document id of the table (all-zero internal id)."""
    return encode_id(table_number, bytes(_INTERNAL_ID_LEN))


class IdSource:
    """Random internal ids and tablet ids from one seeded generator, so runs are repeatable."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def new_document_id(self, table_number: int) -> str:
        return encode_id(table_number, self._rng.getrandbits(8 * _INTERNAL_ID_LEN).to_bytes(16, "big"))

    def new_tablet_id(self) -> str:
        return "".join(self._rng.choice(_TABLET_ALPHABET) for _ in range(TABLET_ID_LEN))

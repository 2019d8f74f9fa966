"""A secret string that never shows itself, and redaction of text that might echo it.

The access key travels in one place only (the Authorization header, set at send time).
Everything that can end up in a log, an exception or a repr sees a `Secret`, whose repr
and str are masked, or goes through `redact`.
"""

from __future__ import annotations

import hmac
import re
import urllib.parse
from typing import Any, Final

MASK: Final = "****"

# Convex keys look like `<prefix>|<secret part>`; the prefix names the deployment
# (`prod:happy-animal-123`), which is also in the URL, so it is not secret.
_KEY_PREFIX = re.compile(r"^(?P<kind>prod|dev|preview|project)?:?(?P<rest>[^|]*)\|")


class Secret:
    """A string that masks itself in repr/str; call `reveal()` at the single point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The real value: only for the Authorization header."""
        return self._value

    @property
    def deployment_hint(self) -> str | None:
        """The non-secret deployment name a key carries (`happy-animal-123` for
        `prod:happy-animal-123|...`), used to explain prod/dev mix-ups; None if unknown."""
        match = _KEY_PREFIX.match(self._value)
        if match is None or match.group("kind") not in ("prod", "dev"):
            return None
        name = match.group("rest")
        return name or None

    def redact(self, text: str) -> str:
        """`text` with every form of this secret replaced by the mask."""
        return redact(text, self)

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        # Constant-time, so comparing keys cannot leak them through timing.
        return isinstance(other, Secret) and hmac.compare_digest(other._value.encode(), self._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> Secret:
        return self  # immutable: copies may share it

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Pickling would write the key to disk or another process: refuse.
        raise TypeError("a Secret cannot be pickled")


def _forms(value: str) -> list[str]:
    """Every spelling of a secret that might reach text: raw, URL-encoded, and the part
    after `|` (the truly secret part), longest first so replacements do not overlap."""
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    if "|" in value:
        tail = value.split("|", 1)[1]
        if len(tail) >= 8:  # a tiny tail would mask ordinary words
            forms.add(tail)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, *secrets: Secret) -> str:
    """Replace every occurrence of each secret (and its URL-encoded forms) in `text`."""
    for secret in secrets:
        for form in _forms(secret.reveal()):
            if form in text:
                text = text.replace(form, MASK)
    return text

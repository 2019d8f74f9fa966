"""The one check every run passes through: no access key in anything a connector printed.

Keys are registered as deployments start; every stdout, stderr and log text the suite sees
is scanned for each key in every form that could leak: as typed, URL-encoded, and its secret
part after `|` alone (a redaction that masks the whole key but not its tail still leaks).
A leak fails the test with where it was found, never with the key itself.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass, field


def key_forms(key: str) -> list[str]:
    """Every spelling of `key` that must never appear in output."""
    forms = {key, urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)}
    if "|" in key:
        forms.add(key.split("|", 1)[1])
    return sorted((form for form in forms if len(form) >= 8), key=len, reverse=True)


class SecretLeak(AssertionError):
    """An access key (or its secret part) appeared in output."""


@dataclass
class SecretGuard:
    """Known keys and how many texts were scanned for them."""

    _forms: dict[str, str] = field(default_factory=dict)  # form -> label of its key
    _lock: threading.Lock = field(default_factory=threading.Lock)
    scanned: int = 0

    def register(self, key: str, label: str) -> None:
        """Watch for `key` from now on; `label` names it in failures (e.g. "admin key of A")."""
        with self._lock:
            for form in key_forms(key):
                self._forms[form] = label

    def leaks(self, text: str) -> list[str]:
        """Labels of the keys found in `text` (empty when clean)."""
        with self._lock:
            forms = list(self._forms.items())
        return sorted({label for form, label in forms if form in text})

    def check(self, text: str, where: str) -> None:
        """Raise SecretLeak when any registered key appears in `text`."""
        with self._lock:
            self.scanned += 1
        found = self.leaks(text)
        if found:
            raise SecretLeak(f"{', '.join(found)} appeared in {where}")


#: The session's guard: keys of every deployment the suite starts, and every fake key it makes.
GUARD = SecretGuard()

"""Comparing what two runs delivered: records of a source, documents of a Convex table.

Both compare as multisets of canonical JSON, so the counts say exactly how many of the
expected items were delivered, how many never arrived (lost) and how many arrived more than
once (duplicates). Fields that legitimately differ between two runs of the same sync
(`emitted_at`, B's own `_id` and `_creationTime`) are left out before comparing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def record_identity(record: dict[str, Any]) -> str:
    """A RECORD without its emission time."""
    return canonical({"stream": record["stream"], "namespace": record.get("namespace"), "data": record["data"]})


def document_identity(document: dict[str, Any]) -> str:
    """A stored document without the fields the storing deployment chose itself."""
    return canonical({key: value for key, value in document.items() if key not in ("_id", "_creationTime")})


@dataclass
class Delivery:
    expected: int
    delivered: int
    lost: int
    duplicates: int
    lost_examples: list[str]
    extra_examples: list[str]

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.duplicates == 0

    def summary(self) -> str:
        return (f"expected {self.expected}, delivered {self.delivered}, lost {self.lost}, duplicates/extra "
                f"{self.duplicates}; lost e.g. {[e[:300] for e in self.lost_examples]}; extra e.g. "
                f"{[e[:300] for e in self.extra_examples]}")


def delivery(expected: Iterable[str], actual: Iterable[str]) -> Delivery:
    """Multiset comparison of canonical items."""
    want = Counter(expected)
    got = Counter(actual)
    missing = want - got
    extra = got - want
    total = sum(want.values())
    lost = sum(missing.values())
    return Delivery(total, total - lost, lost, sum(extra.values()), list(missing)[:3], list(extra)[:3])

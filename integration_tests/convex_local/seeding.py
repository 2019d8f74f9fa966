"""Realistic generated documents: nested objects, arrays, int64, bytes, optional fields, ids.

About 300 bytes each as clean JSON; deterministic for a given seed.
"""

from __future__ import annotations

import random
from typing import Any

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus", "Zoë", "José"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Müller"]
_CITIES = ["Lisbon", "Zürich", "Osaka", "Nairobi", "Lima", "Oslo", "Tbilisi", "Hanoi"]
_TAGS = ["alpha", "beta", "gamma", "delta", "vip", "trial", "churned", "beta-tester", "éclair"]
_PLANS = ["free", "pro", "team", "enterprise"]


def document(rng: random.Random, n: int, ref_ids: list[str]) -> dict[str, Any]:
    """The n-th generated document."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    doc: dict[str, Any] = {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{n}@example.com",
        "seq": n,  # int64
        "score": round(rng.uniform(0, 1000), 3),  # float64
        "active": rng.random() < 0.7,
        "plan": rng.choice(_PLANS),
        "tags": rng.sample(_TAGS, rng.randint(0, 3)),
        "address": {
            "city": rng.choice(_CITIES),
            "zip": f"{rng.randint(1000, 99999):05d}",
            "geo": {"lat": round(rng.uniform(-90, 90), 5), "lng": round(rng.uniform(-180, 180), 5)},
        },
        "visits": [rng.randint(0, 2**40) for _ in range(rng.randint(0, 3))],  # int64 inside an array
    }
    if rng.random() < 0.5:
        doc["nickname"] = first[:3].lower()  # optional field
    if rng.random() < 0.3:
        doc["avatar"] = rng.randbytes(12)  # bytes
    if rng.random() < 0.2:
        doc["deletedAt"] = None
    if ref_ids:
        doc["ownerId"] = rng.choice(ref_ids)  # an id of another table
    return doc

"""Origin data: realistic tables plus the values most likely to break a pipeline, and
seeded mutations (inserts, updates, replaces, deletes) between sync attempts.

Besides the server's generated documents (nested objects, arrays, int64, bytes, optional
fields, ids of other tables) every dataset holds documents with nested field names that Convex
import must rename (spaces, dashes, non-ASCII: Convex allows them only below the top level,
where they make a record), int64 beyond 2^53, NaN / infinities / -0.0, empty objects and
arrays, and long strings with quotes, backslashes and control characters.
"""

from __future__ import annotations

import random
import string
from typing import Any

TABLES = ("users", "posts")


def awkward_document(rng: random.Random, n: int) -> dict[str, Any]:
    """A document whose values and names stress every conversion on the way to Convex B."""
    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324, 0.1]
    return {
        "email": f"user{n}@example.com",
        "firstName": rng.choice(["Zoë", "José", "Łukasz", "美咲", "Ada"]),
        "Reading_Time": rng.randint(0, 90),
        "profile": {"e-mail": f"u{n}@example.org", "first name": "Zoë", "size (cm)": rng.randint(0, 200),
                    "Reading Time (min)": [rng.random(), {"x-y": None}]},
        "big": rng.choice([2**53 + 1, -(2**63), 2**63 - 1, rng.randint(-(2**62), 2**62)]),
        "special": rng.choice(specials),
        "blob": rng.randbytes(rng.randint(0, 24)),
        "nested": {"a-b": [1, {"c d": rng.random()}], "empty": {}, "list": []},
        "text": "".join(rng.choice(string.ascii_letters + " ,.\"\\\n\t") for _ in range(rng.randint(0, 400))),
        "flag": rng.random() < 0.5,
        "nothing": None,
    }


def seed_origin(dep: Any, seed: int, *, users: int, posts: int) -> None:
    """Fill the origin: two tables of generated documents, each with some awkward ones."""
    rng = random.Random(seed)
    dep.generate("users", users, seed=seed)
    dep.generate("posts", posts, seed=seed + 1)
    with dep.transaction() as tx:
        for n in range(max(3, users // 50)):
            tx.insert("users", awkward_document(rng, n))
        for n in range(max(2, posts // 50)):
            tx.insert("posts", awkward_document(rng, 1000 + n))


def mutate(dep: Any, rng: random.Random, operations: int) -> dict[str, int]:
    """Apply `operations` random changes, in a few transactions; returns counts by kind."""
    counts = {"insert": 0, "update": 0, "replace": 0, "delete": 0}
    ids = {table: [doc["_id"] for doc in dep.documents(table)] for table in TABLES}
    done = 0
    while done < operations:
        with dep.transaction() as tx:
            for _ in range(min(operations - done, rng.randint(1, 8))):
                table = rng.choice(TABLES)
                kind = rng.choices(("insert", "update", "replace", "delete"), weights=(3, 4, 1, 2))[0]
                if kind != "insert" and not ids[table]:
                    kind = "insert"
                if kind == "insert":
                    ids[table].append(tx.insert(table, awkward_document(rng, rng.randint(0, 10**6))))
                elif kind == "update":
                    tx.patch(rng.choice(ids[table]), {"score": rng.random() * 1000, "version": rng.randint(0, 2**60)})
                elif kind == "replace":
                    tx.replace(rng.choice(ids[table]), awkward_document(rng, rng.randint(0, 10**6)))
                else:
                    victim = ids[table].pop(rng.randrange(len(ids[table])))
                    tx.delete(victim)
                counts[kind] += 1
                done += 1
    return counts

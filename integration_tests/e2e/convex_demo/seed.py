"""The demo's data: realistic documents in deployment A, then a round of inserts, updates, deletes.

Tables (all deterministic for a given seed):
- `users`: people (the server's generator: nested address, tags, int64 visit counters, bytes
  avatars, optional fields);
- `posts`: blog posts by users: title, body, tags, an `Id<users>` author, int64 view counts,
  float ratings, a `metadata` object whose keys are not identifiers ("Reading Time (min)"), which
  Convex's import stores renamed, as the destination docs describe;
- `orders`: purchases: int64 amounts in cents, line items (an array of objects), a bytes receipt
  digest, a float exchange rate that is NaN when unknown, optional `shipped_at`;
- `audit_log`: created and left empty (an empty table must sync as an empty table);
- `entries` in the component `waitlist`: sign-ups owned by an installed component.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Iterator

from convex_local.control import ControlClient

#: (component, table) of every table the demo creates, in report order.
TABLES: tuple[tuple[str, str], ...] = (
    ("", "users"), ("", "posts"), ("", "orders"), ("", "audit_log"), ("waitlist", "entries"),
)
BATCH = 1000  # documents per seeding transaction

_WORDS = ("convex", "airbyte", "stream", "snapshot", "delta", "cursor", "schema", "index", "table", "field",
          "import", "export", "sync", "backfill", "retention", "component", "mutation", "query", "action", "bytes")
_CURRENCIES = ("EUR", "USD", "JPY", "CHF", "KES")
_STATUSES = ("pending", "paid", "shipped", "refunded")
_SKUS = ("mug-blue", "tee-m", "tee-l", "sticker-pack", "hoodie-xl", "notebook")


@dataclass
class Scale:
    """How many documents each table gets; `1.0` is the default demo."""

    users: int = 3000
    posts: int = 5000
    orders: int = 1500
    entries: int = 500

    @classmethod
    def of(cls, factor: float) -> "Scale":
        base = cls()
        return cls(*(max(10, int(n * factor)) for n in (base.users, base.posts, base.orders, base.entries)))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def post(rng: random.Random, n: int, user_ids: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": _sentence(rng, rng.randint(3, 8))[:-1],
        "body": " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 4))),
        "slug": f"post-{n}",
        "authorId": rng.choice(user_ids),
        "tags": rng.sample(_WORDS, rng.randint(0, 4)),
        "views": rng.randint(0, 2**42),  # int64
        "rating": round(rng.uniform(1, 5), 2),
        "published": rng.random() < 0.8,
        "metadata": {"Reading Time (min)": rng.randint(1, 20), "lang-code": rng.choice(("en", "de", "ja"))},
    }
    if rng.random() < 0.3:
        doc["editedAt"] = 1.7e12 + rng.random() * 1e10  # ms since the epoch, as Convex apps store times
    return doc


def order(rng: random.Random, n: int, user_ids: list[str]) -> dict[str, Any]:
    items = [{"sku": rng.choice(_SKUS), "quantity": rng.randint(1, 4), "unitCents": rng.randint(199, 9999)}
             for _ in range(rng.randint(1, 4))]
    total = sum(item["quantity"] * item["unitCents"] for item in items)
    doc: dict[str, Any] = {
        "number": f"ORD-{100000 + n}",
        "customerId": rng.choice(user_ids),
        "items": items,
        "totalCents": total,  # int64
        "currency": rng.choice(_CURRENCIES),
        "exchangeRate": float("nan") if rng.random() < 0.1 else round(rng.uniform(0.5, 1.5), 4),
        "status": rng.choice(_STATUSES),
        "receiptDigest": hashlib.sha256(f"receipt-{n}".encode()).digest()[:16],  # bytes
    }
    if doc["status"] == "shipped":
        doc["shippedAt"] = 1.7e12 + rng.random() * 1e10
    return doc


def _batches(docs: Iterator[dict[str, Any]], table: str, component: str = "") -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append({"op": "insert", "table": table, "value": doc, "component": component})
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(control: ControlClient, scale: Scale, seed: int = 42) -> int:
    """Fill deployment A; returns the number of documents written."""
    rng = random.Random(seed)
    user_ids = control.generate("users", scale.users, seed=seed)
    for ops in _batches((post(rng, n, user_ids) for n in range(scale.posts)), "posts"):
        control.transaction(ops)
    for ops in _batches((order(rng, n, user_ids) for n in range(scale.orders)), "orders"):
        control.transaction(ops)
    control.create_table("audit_log")
    control.generate("entries", scale.entries, seed=seed + 1, component="waitlist")
    return scale.users + scale.posts + scale.orders + scale.entries


@dataclass
class Mutations:
    """What `mutate` did, per (component, table): documents inserted, updated and deleted."""

    inserted: dict[tuple[str, str], int] = field(default_factory=dict)
    updated: dict[tuple[str, str], int] = field(default_factory=dict)
    deleted: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, kind: dict[tuple[str, str], int], table: tuple[str, str], n: int) -> None:
        kind[table] = kind.get(table, 0) + n


def mutate(control: ControlClient, seed: int = 43, fraction: float = 0.03) -> Mutations:
    """Insert, update and delete a few percent of every non-empty table, in a few transactions.

    Updates are both patches (some fields) and replaces (the whole document); deletes pick
    documents that were not updated, and a handful of documents are inserted and updated again in
    a later transaction, so the change log holds several revisions of one document.
    """
    rng = random.Random(seed)
    done = Mutations()
    users = control.documents("users")
    user_ids = [doc["_id"] for doc in users]
    for component, table in TABLES:
        docs = control.documents(table, component)
        if not docs:
            continue
        key = (component, table)
        n = max(3, int(len(docs) * fraction))
        chosen = rng.sample(docs, min(len(docs), 2 * n))
        to_update, to_delete = chosen[:n], chosen[n: 2 * n]
        ops: list[dict[str, Any]] = []
        for i, doc in enumerate(to_update):
            if i % 2:
                ops.append({"op": "patch", "id": doc["_id"], "value": _patch(table, rng)})
            else:
                ops.append({"op": "replace", "id": doc["_id"], "value": _replacement(table, doc, rng, user_ids)})
        ops.extend({"op": "delete", "id": doc["_id"]} for doc in to_delete)
        control.transaction(ops)
        inserts = [_new_document(table, rng, user_ids, i) for i in range(n)]
        result = control.transaction([{"op": "insert", "table": table, "value": doc, "component": component}
                                      for doc in inserts])
        # A second revision of some new documents, in a later transaction.
        control.transaction([{"op": "patch", "id": new_id, "value": _patch(table, rng)}
                             for new_id in result["ids"][: max(1, n // 5)]])
        done.count(done.updated, key, len(to_update))
        done.count(done.deleted, key, len(to_delete))
        done.count(done.inserted, key, n)
    return done


def _patch(table: str, rng: random.Random) -> dict[str, Any]:
    if table == "posts":
        return {"views": rng.randint(0, 2**42), "tags": rng.sample(_WORDS, 2), "editedAt": 1.71e12}
    if table == "orders":
        return {"status": "shipped", "shippedAt": 1.71e12 + rng.random() * 1e9}
    return {"plan": rng.choice(("free", "pro", "team")), "nickname": rng.choice(("ada", "bob", "zoë"))}


def _replacement(table: str, old: dict[str, Any], rng: random.Random, user_ids: list[str]) -> dict[str, Any]:
    new = _new_document(table, rng, user_ids, rng.randint(10**6, 10**7))
    if "email" in old:
        new["email"] = old["email"]  # a replaced user keeps their address
    return new


def _new_document(table: str, rng: random.Random, user_ids: list[str], n: int) -> dict[str, Any]:
    if table == "posts":
        return post(rng, n, user_ids)
    if table == "orders":
        return order(rng, n, user_ids)
    return {"name": f"New Person {n}", "email": f"new{n}@example.com", "seq": n, "score": rng.uniform(0, 1000),
            "active": True, "plan": "free", "tags": ["new"], "address": {"city": "Lisbon", "zip": "1000"},
            "visits": [n]}

"""Seeding API, ids and time: `_ts` per transaction, `_creationTime`, the settable clock."""

from __future__ import annotations

import math

import pytest

from convex_local import LocalDeployment
from convex_local.errors import ApiError
from convex_local.ids import decode_id

from .conftest import Api


def log_ts(dep: LocalDeployment) -> list[int]:
    return [r.ts for r in dep.db.store.log_rows(0, 2**63 - 1, 10_000)]


def test_transactions_share_one_ts_strictly_increasing_even_when_the_clock_goes_back(
    convex_server: LocalDeployment,
) -> None:
    dep = convex_server
    with dep.transaction() as tx:
        a = tx.insert("t", {"x": 1.0})
        b = tx.insert("t", {"x": 2.0})
    first = set(log_ts(dep))
    assert len(first) == 1
    dep.clock.set(dep.clock.now_ns() - 3600 * 10**9)
    dep.insert("t", {"x": 3.0})
    dep.insert("t", {"x": 4.0})
    stamps = sorted(set(log_ts(dep)))
    assert len(stamps) == 3 and stamps == sorted(stamps)
    docs = {d["_id"]: d for d in dep.documents("t")}
    assert isinstance(docs[a]["_creationTime"], float) and docs[a]["_creationTime"] == docs[b]["_creationTime"]
    assert decode_id(a) is not None and decode_id(a)[0] == decode_id(b)[0]  # type: ignore[index]


def test_clock_set_freezes_and_advance_moves(convex_server: LocalDeployment) -> None:
    clock = convex_server.clock
    clock.set(1_700_000_000 * 10**9)
    assert clock.now_ns() == clock.now_ns() == 1_700_000_000 * 10**9
    clock.advance(10)
    assert clock.now_ns() == 1_700_000_000 * 10**9 + 10
    clock.follow_wall_time()
    assert not clock.frozen
    convex_server.insert("t", {"a": 1.0})
    clock.set(1_800_000_000 * 10**9)
    convex_server.insert("t", {"a": 2.0})
    assert max(log_ts(convex_server)) == 1_800_000_000 * 10**9


def test_replace_patch_delete_and_atomic_abort(convex_server: LocalDeployment) -> None:
    dep = convex_server
    doc = dep.insert("t", {"a": 1, "b": "x"})
    with dep.transaction() as tx:
        tx.patch(doc, {"b": "y", "c": None})
        assert tx.get(doc)["b"] == "y"  # type: ignore[index]
    assert {k: v for k, v in dep.get(doc).items() if not k.startswith("_")} == {"a": 1, "b": "y", "c": None}  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        with dep.transaction() as tx:
            tx.insert("t", {"z": 1.0})
            tx.delete(doc)
            raise RuntimeError("abort")
    assert len(dep.documents("t")) == 1
    with dep.transaction() as tx:
        tmp = tx.insert("t", {"short": "lived"})
        tx.delete(tmp)  # inserted and deleted in one transaction: no revision at all
    assert len(log_ts(dep)) == 2
    with dep.transaction() as tx:
        tx.replace(doc, {"only": True})
    assert set(dep.get(doc)) == {"_id", "_creationTime", "only"}  # type: ignore[arg-type]
    with dep.transaction() as tx:
        tx.delete(doc)
    assert dep.get(doc) is None and dep.documents("t") == []
    with pytest.raises(ApiError):
        with dep.transaction() as tx:
            tx.delete(doc)


def test_seeded_values_are_validated(convex_server: LocalDeployment) -> None:
    dep = convex_server
    for bad in ({"_x": 1}, {"$x": 1}, {"x": 2**63}, {"x": object()}, {"x": {"a\x01": 1}}):
        with pytest.raises(ApiError):
            dep.insert("t", bad)
    dep.insert("t", {"ok": [math.inf, b"", -(2**63), {"_nested_underscore": 1}]})


def test_generate_makes_realistic_documents(convex_server: LocalDeployment) -> None:
    dep = convex_server
    users = dep.generate("users", 50, seed=1)
    dep.generate("posts", 200, seed=2)
    posts = dep.documents("posts")
    assert len(posts) == 200 and len(users) == 50
    types = {type(v) for d in posts for v in d.values()}
    assert {str, float, int, bool, list, dict} <= types
    assert any("avatar" in d and isinstance(d["avatar"], bytes) for d in posts)
    assert any("nickname" in d for d in posts) and any("nickname" not in d for d in posts)
    assert all(d["ownerId"] in set(users) for d in posts)
    assert any(isinstance(x, int) for d in posts for x in d["visits"])
    sizes = [len(dep.db.store.latest(dep.db.current_tablet("", "posts").tablet, d["_id"]).clean) for d in posts]  # type: ignore[union-attr]
    assert 200 < sum(sizes) / len(sizes) < 450
    again = LocalDeployment(seed=0)
    try:
        again.generate("users", 50, seed=1)
        assert [d["_id"] for d in again.documents("users")] == [d["_id"] for d in dep.documents("users")]
    finally:
        again.stop()


def test_components_and_table_names(convex_server: LocalDeployment) -> None:
    dep = convex_server
    dep.create_table("a")
    dep.insert("b", {"x": 1.0}, component="waitlist")
    assert dep.table_names() == ["a", "b"]
    assert dep.table_names("") == ["a"] and dep.table_names("waitlist") == ["b"]
    assert dep.documents("b") == [] and len(dep.documents("b", component="waitlist")) == 1


def test_two_deployments_are_independent(convex_server_factory) -> None:
    a, b = convex_server_factory(), convex_server_factory(seed=5)
    a.insert("t", {"x": 1.0})
    assert b.table_names() == [] and a.url != b.url and a.admin_key != b.admin_key
    assert Api(b, a.admin_key).get("/api/list_snapshot").status_code == 401

"""Transient faults change nothing in the output; component tables route by their component."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import SyncMode
from convex_local import LocalDeployment
from source_helpers import FAST_RETRY, config_for, configured, discover, last_states, read, records

pytestmark = pytest.mark.timeout(120)


def _rows(out) -> dict:
    return {key: sorted(rows, key=lambda r: (r["_ts"], r["_id"])) for key, rows in records(out).items()}


@pytest.mark.parametrize("changes_route", ["sync", "document_deltas"])  # with and without the data sync API
def test_injected_faults_give_exactly_the_fault_free_records(convex_server: LocalDeployment,
                                                             changes_route: str) -> None:
    """Reading is free of side effects, so the same read with and without faults must agree."""
    dep = convex_server
    dep.settings.data_sync_api = changes_route == "sync"
    dep.settings.snapshot_page_size = 4
    dep.settings.deltas_page_rows = 4
    dep.settings.data_sync_page_size = 4
    dep.generate("users", 30, seed=5)
    dep.generate("posts", 12, seed=6)
    config = config_for(dep)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    snapshot_clean = read(config, catalog)
    saved = last_states(snapshot_clean.state_messages)
    for kind in ("500", "429", "reset", "html502"):
        dep.faults.inject(route="list_snapshot", kind=kind, rate=0.4, count=1, seed=len(kind), retry_after_s=0.05)
    snapshot_faulty = read(config, catalog, retry=FAST_RETRY)
    assert [rule.fired for rule in dep.faults.rules] == [1, 1, 1, 1]
    dep.faults.clear()
    users = dep.documents("users")
    with dep.transaction() as tx:
        for doc in users[:10]:
            tx.patch(doc["_id"], {"name": "x"})
        tx.delete(users[11]["_id"])
    for i in range(20):
        dep.insert("posts", {"i": i})
    changes_clean = read(config, catalog, state=saved)

    for kind in ("503", "reset", "html502"):
        dep.faults.inject(route=changes_route, kind=kind, rate=0.4, count=1, seed=len(kind), retry_after_s=0.05)
    changes_faulty = read(config, catalog, state=saved, retry=FAST_RETRY)

    assert [rule.fired for rule in dep.faults.rules] == [1, 1, 1]
    assert _rows(snapshot_faulty) == _rows(snapshot_clean)
    assert _rows(changes_faulty) == _rows(changes_clean)
    assert sum(len(rows) for rows in _rows(changes_clean).values()) == 31


def test_faults_during_a_snapshot_lose_and_duplicate_nothing(convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 6
    expected = sorted(convex_server.generate("users", 40, seed=1))
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    convex_server.faults.inject(route="list_snapshot", kind="503", rate=0.5, count=3, seed=3, retry_after_s=0.05)
    convex_server.faults.inject(route="list_snapshot", kind="reset", rate=0.5, count=2, seed=4)
    out = read(config, catalog, retry=FAST_RETRY)
    assert [rule.fired for rule in convex_server.faults.rules] == [3, 2]
    assert sorted(r["_id"] for r in records(out)[(None, "users")]) == expected


def test_component_tables(convex_server: LocalDeployment) -> None:
    convex_server.add_component("waitlist")
    root = convex_server.generate("users", 3, seed=1)
    comp = convex_server.generate("users", 2, seed=2, component="waitlist")
    config = config_for(convex_server, include_components=True)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    first = read(config, catalog)
    got = records(first)
    assert sorted(r["_id"] for r in got[(None, "users")]) == sorted(root)
    assert sorted(r["_id"] for r in got[("waitlist", "users")]) == sorted(comp)
    assert all(r["_component"] == "waitlist" for r in got[("waitlist", "users")])

    in_comp = convex_server.insert("users", {"name": "c"}, component="waitlist")
    in_root = convex_server.insert("users", {"name": "r"})
    second = read(config, catalog, state=last_states(first.state_messages))
    got = records(second)
    assert [r["_id"] for r in got[("waitlist", "users")]] == [in_comp]
    assert [r["_id"] for r in got[(None, "users")]] == [in_root]

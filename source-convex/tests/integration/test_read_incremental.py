"""Incremental reads: one change-log walk for all streams, deletes, positions that always advance."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, ids, last_states, read, records, state_blobs

pytestmark = pytest.mark.timeout(90)


def _first_sync(dep: LocalDeployment, tables: dict[str, int], **config_extra: object):
    for table, n in tables.items():
        dep.create_table(table)
        if n:
            dep.generate(table, n, seed=3)
    config = config_for(dep, **config_extra)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    first = read(config, catalog)
    return config, catalog, first


@pytest.mark.parametrize("ignore_table_name", [False, True])
def test_inserts_updates_deletes(convex_server: LocalDeployment, ignore_table_name: bool) -> None:
    convex_server.settings.ignore_table_name = ignore_table_name
    config, catalog, first = _first_sync(convex_server, {"users": 5, "posts": 3, "quiet": 2})
    assert {k: len(v) for k, v in records(first).items()} == {(None, "users"): 5, (None, "posts"): 3,
                                                              (None, "quiet"): 2}
    users = convex_server.documents("users")
    new_id = convex_server.insert("users", {"name": "new"})
    with convex_server.transaction() as tx:
        tx.patch(users[0]["_id"], {"name": "renamed"})
        tx.delete(users[1]["_id"])
        post = tx.insert("posts", {"title": "p"})
    with convex_server.transaction() as tx:
        tx.replace(post, {"title": "p2"})

    second = read(config, catalog, state=last_states(first.state_messages))
    got = records(second)
    assert (None, "quiet") not in got
    user_rows = got[(None, "users")]
    assert user_rows[0]["_id"] == new_id  # the change log is in commit order
    by_id = {r["_id"]: r for r in user_rows}
    assert set(by_id) == {new_id, users[0]["_id"], users[1]["_id"]}
    assert by_id[users[0]["_id"]]["name"] == "renamed" and by_id[users[0]["_id"]]["_deleted"] is False
    deleted = by_id[users[1]["_id"]]
    assert deleted["_deleted"] is True
    assert deleted["_ab_cdc_deleted_at"] == deleted["_ab_cdc_updated_at"] and deleted["_ab_cdc_deleted_at"].endswith("Z")
    assert set(deleted) >= {"_id", "_ts", "_table", "_deleted", "_ab_cdc_lsn"} and "name" not in deleted
    post_rows = got[(None, "posts")]
    assert [r["title"] for r in post_rows] == ["p", "p2"]  # every revision, in order
    assert post_rows[0]["_ts"] < post_rows[1]["_ts"]

    before, after = state_blobs(first), state_blobs(second)
    for key in before:
        assert after[key]["delta_cursor"] > before[key]["delta_cursor"]  # quiet included


def test_no_changes_still_advances_positions(convex_server: LocalDeployment) -> None:
    config, catalog, first = _first_sync(convex_server, {"users": 3})
    second = read(config, catalog, state=last_states(first.state_messages))
    assert second.records == []
    third = read(config, catalog, state=last_states(second.state_messages))
    cursors = [state_blobs(out)[(None, "users")]["delta_cursor"] for out in (first, second, third)]
    assert cursors[0] < cursors[1] < cursors[2]


def test_a_transaction_larger_than_a_page(convex_server: LocalDeployment) -> None:
    config, catalog, first = _first_sync(convex_server, {"users": 1})
    with convex_server.transaction() as tx:
        written = [tx.insert("users", {"n": i}) for i in range(300)]
    convex_server.request_log.clear()
    second = read(config, catalog, state=last_states(first.state_messages))
    rows = records(second)[(None, "users")]
    assert ids(rows) == sorted(written)
    assert len({r["_ts"] for r in rows}) == 1


def test_twenty_tables_one_walk(convex_server: LocalDeployment) -> None:
    tables = {f"t{i:02d}": 2 for i in range(20)}
    config, catalog, first = _first_sync(convex_server, tables)
    for round_ in range(3):
        with convex_server.transaction() as tx:
            for table in tables:
                for i in range(5):
                    tx.insert(table, {"round": round_, "i": i})
    convex_server.request_log.clear()
    second = read(config, catalog, state=last_states(first.state_messages))
    assert sum(len(rows) for rows in records(second).values()) == 300
    routes = [e.name for e in convex_server.request_log]
    # 300 changes are 3 pages of the log (transactions are never split); one walk reads each page once.
    assert routes.count("document_deltas") <= 4, routes
    assert routes.count("list_snapshot") == 0
    assert len(routes) <= 6, routes


def test_new_stream_joins_while_others_continue(convex_server: LocalDeployment) -> None:
    config, catalog, first = _first_sync(convex_server, {"users": 3})
    convex_server.generate("posts", 4, seed=9)
    convex_server.insert("users", {"name": "later"})
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    second = read(config, catalog, state=last_states(first.state_messages))
    got = records(second)
    assert len(got[(None, "posts")]) == 4
    assert [r.get("name") for r in got[(None, "users")]] == ["later"]

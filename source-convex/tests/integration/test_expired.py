"""Positions older than the change-log retention: a clear config_error, or a re-sync when asked."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import AirbyteStreamStatus, FailureType, SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, last_states, log_text, read, records, state_blobs, statuses

pytestmark = pytest.mark.timeout(60)

DAY = 86_400 * 10**9


def _synced(dep: LocalDeployment, **extra: object):
    dep.generate("users", 4, seed=1)
    dep.generate("posts", 2, seed=2)
    config = config_for(dep, **extra)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    first = read(config, catalog)
    return config, catalog, last_states(first.state_messages)


def test_expired_positions_fail_with_the_streams_and_the_remedy(convex_server: LocalDeployment) -> None:
    config, catalog, saved = _synced(convex_server)
    convex_server.clock.advance(20 * DAY)
    out = read(config, catalog, state=saved, expect_failure=True)
    (error,) = out.errors
    trace = error.trace.error
    assert trace.failure_type == FailureType.config_error
    for fragment in ("users", "posts", "20.0 days old", "retention", "Refresh", "on_expired_position",
                     "InvalidWindowToReadDocuments"):
        assert fragment in trace.message, fragment
    assert out.records == []
    for key in ((None, "users"), (None, "posts")):
        assert statuses(out)[key] == [AirbyteStreamStatus.STARTED, AirbyteStreamStatus.INCOMPLETE]


def test_resync_reads_the_expired_streams_again(convex_server: LocalDeployment) -> None:
    config, catalog, saved = _synced(convex_server, on_expired_position="resync")
    convex_server.clock.advance(20 * DAY)
    extra = convex_server.insert("users", {"name": "while away"})
    out = read(config, catalog, state=saved)
    got = records(out)
    assert len(got[(None, "users")]) == 5 and extra in {r["_id"] for r in got[(None, "users")]}
    assert len(got[(None, "posts")]) == 2
    assert "resync" in log_text(out)
    now = convex_server.clock.now_ns()
    assert all(now - blob["delta_cursor"] < DAY for blob in state_blobs(out).values())


def test_only_the_expired_stream_is_resynced(convex_server: LocalDeployment) -> None:
    config, catalog, saved = _synced(convex_server, on_expired_position="resync")
    convex_server.clock.advance(13 * DAY)
    users_only = [s for s in saved if s.stream.stream_descriptor.name == "users"]
    # posts' position is moved back beyond retention, users' stays inside it.
    posts = next(s for s in saved if s.stream.stream_descriptor.name == "posts")
    posts.stream.stream_state.delta_cursor -= 2 * DAY
    out = read(config, catalog, state=users_only + [posts])
    got = records(out)
    assert (None, "users") not in got
    assert len(got[(None, "posts")]) == 2

"""A resumed snapshot that Convex refuses without a code of its own ends at once with the resync advice."""

from __future__ import annotations

import time

import pytest
import requests
from airbyte_cdk.models import AirbyteStateBlob, AirbyteStateMessage, AirbyteStateType, AirbyteStreamState
from airbyte_cdk.models import FailureType, StreamDescriptor, SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, ids, read, records

pytestmark = pytest.mark.timeout(60)  # the default retry budget alone is five minutes

DAY = 86_400 * 10**9


def _state(blob: dict) -> list[AirbyteStateMessage]:
    return [AirbyteStateMessage(type=AirbyteStateType.STREAM, stream=AirbyteStreamState(
        stream_descriptor=StreamDescriptor(name="users"), stream_state=AirbyteStateBlob(blob)))]


def _interrupted(dep: LocalDeployment) -> tuple[dict, object, list[AirbyteStateMessage]]:
    """A snapshot of `users` stopped after its first page (what a killed sync leaves)."""
    dep.settings.snapshot_page_size = 10
    dep.generate("users", 30, seed=2)
    config = config_for(dep)
    catalog = configured(discover(dep, config), SyncMode.incremental)
    page = requests.get(f"{dep.url}/api/list_snapshot", params={"table_name": "users"},
                        headers={"Authorization": f"Convex {dep.admin_key}"}, timeout=10).json()
    return config, catalog, _state({"snapshot_has_more": True, "snapshot_cursor": page["cursor"],
                                    "delta_cursor": page["snapshot"]})


def _failure(out) -> tuple[str, FailureType]:
    trace = out.errors[-1].trace.error
    return trace.message, trace.failure_type


def test_snapshot_past_retention(convex_server: LocalDeployment) -> None:
    config, catalog, state = _interrupted(convex_server)
    convex_server.clock.advance(2 * DAY)
    convex_server.settings.snapshot_retention_ns = DAY  # 503 InternalServerError, within the 5-day limit
    started = time.monotonic()
    out = read(config, catalog, state=state, expect_failure=True)
    assert time.monotonic() - started < 15
    message, failure_type = _failure(out)
    assert failure_type == FailureType.config_error
    assert "users" in message and "retention" in message and "Refresh" in message
    assert len(convex_server.request_log.entries("list_snapshot")) <= 6


def test_bad_cursor_on_a_backend_that_answers_500(convex_server: LocalDeployment) -> None:
    config, catalog, state = _interrupted(convex_server)
    convex_server.settings.invalid_snapshot_cursor_status = 500  # before 2026-08-17
    state[0].stream.stream_state.snapshot_cursor = '{"tablet":"garbage","id":"x"}'
    started = time.monotonic()
    out = read(config, catalog, state=state, expect_failure=True)
    assert time.monotonic() - started < 15
    message, failure_type = _failure(out)
    assert failure_type == FailureType.config_error
    assert "cursor" in message and "Refresh" in message


def test_a_passing_500_is_still_retried(convex_server: LocalDeployment) -> None:
    config, catalog, state = _interrupted(convex_server)
    convex_server.faults.inject(route="list_snapshot", kind="500", count=1)
    out = read(config, catalog, state=state)
    assert len(records(out)[(None, "users")]) == 20  # the two pages after the saved cursor
    assert ids(records(out)[(None, "users")]) == ids(convex_server.documents("users"))[10:]

"""Planning a read: which stream continues what, and which streams do not exist."""

import pytest
from airbyte_cdk.models import (
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)

from source_convex.plan import plan_read
from source_convex.state import Phase, StateError
from source_convex.config import TableRef

MID = {"snapshot_cursor": "c", "snapshot_has_more": True, "delta_cursor": 5}
DONE = {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": 9}


def _catalog(*streams: tuple[str, str | None, SyncMode]) -> ConfiguredAirbyteCatalog:
    return ConfiguredAirbyteCatalog(streams=[
        ConfiguredAirbyteStream(
            stream=AirbyteStream(name=name, namespace=namespace, json_schema={}, supported_sync_modes=[mode]),
            sync_mode=mode, destination_sync_mode=DestinationSyncMode.append)
        for name, namespace, mode in streams
    ])


def test_phases() -> None:
    saved = {("inc_new", None): {}, ("inc_mid", None): MID, ("inc_done", None): DONE,
             ("fr_mid", None): MID, ("fr_done", None): DONE, ("entries", "waitlist"): DONE}
    catalog = _catalog(("inc_new", None, SyncMode.incremental), ("inc_mid", None, SyncMode.incremental),
                       ("inc_done", None, SyncMode.incremental), ("fr_mid", None, SyncMode.full_refresh),
                       ("fr_done", None, SyncMode.full_refresh), ("entries", "waitlist", SyncMode.incremental),
                       ("gone", None, SyncMode.incremental), ("inc_new", None, SyncMode.incremental))
    plan = plan_read(catalog, lambda n, ns: saved.get((n, ns), {}), lambda t: t.name != "gone")
    phases = {str(run.table): run.phase for run in plan.runs}
    assert phases == {"inc_new": Phase.NEW, "inc_mid": Phase.SNAPSHOT, "inc_done": Phase.DELTAS,
                      "fr_mid": Phase.SNAPSHOT, "fr_done": Phase.NEW, "waitlist/entries": Phase.DELTAS}
    assert plan.unknown == [TableRef("", "gone")]
    assert [run.incremental for run in plan.runs] == [True, True, True, False, False, True]


def test_damaged_state_names_the_stream() -> None:
    catalog = _catalog(("users", None, SyncMode.incremental))
    with pytest.raises(StateError, match="users"):
        plan_read(catalog, lambda n, ns: {"snapshot_has_more": "no", "delta_cursor": 1}, lambda t: True)


def test_a_blob_without_a_timestamp_plans_a_new_snapshot_with_no_state() -> None:
    # Its cursor belongs to a snapshot nobody knows: continuing after it at a new timestamp would skip rows.
    blob = {"snapshot_cursor": "c", "snapshot_has_more": True, "delta_cursor": None}
    plan = plan_read(_catalog(("users", None, SyncMode.incremental)), lambda n, ns: blob, lambda t: True)
    (run,) = plan.runs
    assert run.phase is Phase.NEW and run.state is None and run.saved is None

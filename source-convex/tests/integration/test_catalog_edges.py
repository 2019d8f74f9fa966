"""Catalogs that name streams the deployment lacks, or only some of its streams; progress logs."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import AirbyteStream, AirbyteStreamStatus, ConfiguredAirbyteStream, DestinationSyncMode, SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, log_text, read, records, statuses

from source_convex import SourceConvex
from source_convex.cadence import Cadence

pytestmark = pytest.mark.timeout(60)


def test_unknown_stream_is_reported_after_the_others_sync(convex_server: LocalDeployment) -> None:
    convex_server.generate("users", 3, seed=1)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    catalog.streams.append(ConfiguredAirbyteStream(
        stream=AirbyteStream(name="gone", json_schema={}, supported_sync_modes=[SyncMode.incremental]),
        sync_mode=SyncMode.incremental, destination_sync_mode=DestinationSyncMode.append))
    out = read(config, catalog, expect_failure=True)
    assert len(records(out)[(None, "users")]) == 3
    assert statuses(out)[(None, "users")][-1] == AirbyteStreamStatus.COMPLETE
    assert statuses(out)[(None, "gone")] == [AirbyteStreamStatus.STARTED, AirbyteStreamStatus.INCOMPLETE]
    (error,) = out.errors
    assert "gone" in error.trace.error.message and "Refresh the source schema" in error.trace.error.message


def test_subset_of_streams_reads_only_those(convex_server: LocalDeployment) -> None:
    for table in ("a", "b", "c"):
        convex_server.generate(table, 2, seed=1)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.full_refresh, names=["b"])
    out = read(config, catalog)
    assert list(records(out)) == [(None, "b")]
    assert {e.params.get("table_name") for e in convex_server.request_log if e.name == "list_snapshot"} == {"b"}


def test_progress_lines(convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 5
    convex_server.generate("users", 12, seed=1)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    out = read(config, catalog, cadence=Cadence(progress_every_s=0.0))
    text = log_text(out)
    assert "Progress: 5 records so far" in text and "records/s" in text and "snapshot of table users" in text
    assert "Read finished: 12 records" in text


def test_a_cdk_stream_read_on_its_own_is_a_full_snapshot(convex_server: LocalDeployment) -> None:
    convex_server.settings.snapshot_page_size = 4
    expected = sorted(convex_server.generate("users", 9, seed=1))
    convex_server.generate("posts", 2, seed=2)
    (users,) = [s for s in SourceConvex().streams(config_for(convex_server)) if s.name == "users"]
    rows = list(users.read_records(SyncMode.full_refresh))
    assert sorted(r["_id"] for r in rows) == expected
    assert all(r["_ab_cdc_lsn"] == r["_ts"] and r["_deleted"] is False for r in rows)


def test_a_read_that_cannot_list_the_tables_ends_every_stream_incomplete(convex_server: LocalDeployment) -> None:
    """The listing comes after STARTED: a destination then sees each stream end INCOMPLETE (an
    overwrite keeps its table) instead of a stream that never began."""
    convex_server.generate("users", 2, seed=1)
    catalog = configured(discover(convex_server, config_for(convex_server)), SyncMode.full_refresh)
    wrong = config_for(convex_server, key="convex-self-hosted|01ab23cd45ef67890123456789abcdef0123456789abcdef99")
    out = read(wrong, catalog, expect_failure=True)
    assert statuses(out)[(None, "users")] == [AirbyteStreamStatus.STARTED, AirbyteStreamStatus.INCOMPLETE]
    (error,) = out.errors
    assert error.trace.error.message.startswith("Listing the tables of the deployment: ")

"""One table Convex cannot describe (json_schemas' 400 NoSchemaForExport) never blocks the export."""

from __future__ import annotations

import logging

import pytest
import requests
from airbyte_cdk.models import Status, SyncMode
from airbyte_cdk.test import entrypoint_wrapper
from convex_local import LocalDeployment
from convex_shared import ConvexClient, client_id, IMPORT_CLIENT
from convex_shared.config import ConnectionSettings
from source_helpers import config_for, configured, discover, log_text, read, records

from source_convex import SourceConvex

pytestmark = pytest.mark.timeout(60)


def _import_spreadsheet_rows(dep: LocalDeployment) -> None:
    """What a Convex destination writes for a spreadsheet stream: its headers kept as field names."""
    settings = ConnectionSettings.from_config({"deployment_url": dep.url, "access_key": dep.admin_key})
    body = (b'{"tables": {"orders": {"primaryKey": null, "jsonSchema": {}}}, "messages": ['
            b'{"tableName": "orders", "data": {"Order ID": 1, "first-name": "Ada"}},'
            b'{"tableName": "orders", "data": {"Order ID": 2, "first-name": "Bob"}}]}')
    with ConvexClient(settings, client_id(IMPORT_CLIENT)) as client:
        client.import_airbyte_records(body, idempotent=False)


def _seed(dep: LocalDeployment) -> None:
    dep.insert("users", {"name": "ada", "age": 36})
    dep.create_table("empty")
    dep.insert("wide", {f"f{i}": i for i in range(70)})  # 72 top-level fields with _id and _creationTime
    _import_spreadsheet_rows(dep)


def test_discover_offers_every_table_and_names_the_refused_ones(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    answer = requests.get(f"{convex_server.url}/api/json_schemas",
                          headers={"Authorization": f"Convex {convex_server.admin_key}"}, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (400, "NoSchemaForExport")  # what Convex does

    out = entrypoint_wrapper.discover(SourceConvex(), config_for(convex_server))
    assert not out.errors, out.get_formatted_error_message()
    streams = {s.name: s.json_schema for s in out.catalog.catalog.streams}
    assert set(streams) == {"users", "empty", "wide", "orders"}
    assert {"Order ID", "first-name", "_id", "_creationTime"} <= set(streams["orders"]["properties"])
    assert {f"f{i}" for i in range(70)} <= set(streams["wide"]["properties"])
    assert {"name", "age"} <= set(streams["users"]["properties"])
    for schema in streams.values():
        assert schema["additionalProperties"] is True and schema["required"] == ["_id"]
    warning = log_text(out)
    assert "NoSchemaForExport" in warning and "2 table(s): orders, wide." in warning
    assert "schema.ts" in warning


def test_refused_tables_are_read_exactly(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.incremental)
    out = read(config, catalog)
    got = records(out)
    assert sorted((r["Order ID"], r["first-name"]) for r in got[(None, "orders")]) == [(1.0, "Ada"), (2.0, "Bob")]
    assert got[(None, "wide")][0]["f69"] == 69.0
    assert got[(None, "users")][0]["name"] == "ada"
    assert (None, "empty") not in got
    convex_server.insert("orders", {"Order ID": 3})
    convex_server.request_log.clear()
    later = read(config, catalog, state=[m.state for m in out.state_messages])
    assert [r["Order ID"] for r in records(later)[(None, "orders")]] == [3.0]
    # An incremental read past the snapshots reads no snapshot page: the refused tables are found by discover.
    assert "list_snapshot" not in [entry.name for entry in convex_server.request_log]


def test_check_passes(convex_server: LocalDeployment) -> None:
    _seed(convex_server)
    status = SourceConvex().check(logging.getLogger("airbyte"), config_for(convex_server, tables=["orders", "users"]))
    assert status.status == Status.SUCCEEDED, status.message

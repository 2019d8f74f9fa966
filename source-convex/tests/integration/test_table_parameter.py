"""Backends that read another spelling of the table parameter: the source switches once, logs once."""

from __future__ import annotations

import pytest
from airbyte_cdk.models import SyncMode
from convex_local import LocalDeployment
from source_helpers import config_for, configured, discover, ids, log_text, read, records

pytestmark = pytest.mark.timeout(60)

_SWITCHED = "ignored the table_name parameter"


def _seed(dep: LocalDeployment) -> dict[str, list[str]]:
    for table in ("alpha", "beta", "gamma"):
        dep.generate(table, 30, seed=5)
    dep.settings.snapshot_page_size = 10
    return {table: ids(dep.documents(table)) for table in ("alpha", "beta", "gamma")}


def _snapshot_requests(dep: LocalDeployment) -> list[dict]:
    return [entry.params for entry in dep.request_log.entries("list_snapshot")]


def test_a_build_reading_only_tablename_gets_it_after_the_first_page(convex_server: LocalDeployment) -> None:
    expected = _seed(convex_server)
    convex_server.settings.table_parameter = "tableName"  # self-hosted builds of 2025-07-01 .. 2025-08-14
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.full_refresh)
    convex_server.request_log.clear()
    out = read(config, catalog)
    got = records(out)
    assert {key[1]: ids(rows) for key, rows in got.items()} == expected  # every row, each in its own stream
    sent = _snapshot_requests(convex_server)
    assert sum("table_name" in params for params in sent) == 1  # only the page that showed the problem
    assert all("tableName" in params for params in sent[1:])
    # 3 tables x 3 pages of 10 = 9 requests, plus the one page that read the whole deployment;
    # without the switch each table pages through all 90 documents (10 pages per table).
    assert len(sent) <= 10, len(sent)
    assert log_text(out).count(_SWITCHED) == 1


@pytest.mark.parametrize("era", ["both", "table_name"])
def test_current_and_mid_era_backends_keep_table_name(convex_server: LocalDeployment, era: str) -> None:
    expected = _seed(convex_server)
    convex_server.settings.table_parameter = era
    config = config_for(convex_server)
    catalog = configured(discover(convex_server, config), SyncMode.full_refresh)
    convex_server.request_log.clear()
    out = read(config, catalog)
    assert {key[1]: ids(rows) for key, rows in records(out).items()} == expected
    sent = _snapshot_requests(convex_server)
    assert all("table_name" in params and "tableName" not in params for params in sent)
    assert len(sent) == 9  # 3 tables x 3 pages of 10
    assert _SWITCHED not in log_text(out)

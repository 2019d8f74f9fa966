"""The fault-free baseline: one clean sync A -> source -> destination -> B gives B == A.

Every other scenario is judged against this: if a clean sync already changes documents, the
fault and crash scenarios report it too, and this test says it is not about faults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from reliability_harness.catalog import configured_catalog, connection_config, discovered_streams
from reliability_harness.compare import compare_tables
from reliability_harness.dataset import TABLES, seed_origin
from reliability_harness.processes import assert_success, destination_write, records_and_states, source_read, write_json


@pytest.mark.timeout(180)
def test_clean_sync_gives_exactly_the_origin(deployments: Callable[..., Any], tmp_path: Path) -> None:
    origin, target = deployments("origin A"), deployments("target B")
    seed_origin(origin, 7, users=150, posts=60)
    with origin.transaction() as tx:
        # Convex keeps null and a missing field apart; so must the pipeline.
        tx.insert("users", {"name": "nulls", "deletedAt": None, "nested": {"x": None}, "list": [None, 1]})
    source_config = connection_config(origin.url, origin.read_only_key)
    catalog = write_json(tmp_path / "catalog.json", configured_catalog(discovered_streams(source_config)))
    read = source_read(write_json(tmp_path / "source.json", source_config), catalog)
    assert_success(read)
    destination = write_json(tmp_path / "destination.json", connection_config(target.url, target.admin_key))
    write = destination_write(destination, catalog, records_and_states(read))
    assert_success(write)
    assert len(write.output.states) == len(read.output.states)
    problems = [c.summary() for c in compare_tables(origin, target, TABLES, "dedup") if not c.exact]
    assert not problems, "a clean sync did not reproduce the origin:\n" + "\n".join(problems)

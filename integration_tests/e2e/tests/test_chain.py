"""Convex A -> Convex B -> Convex C through both connectors, deduplicated on `_id`: C ends equal to A.

B is a table this destination loaded, so it holds `source_id` (A's `_id`) next to its own `_id`.
Convex would store the `_id` of B's full records as `source_source_id` but the `_id` of a delete
record (which carries nothing else) as `source_id`: with per-record renaming left to Convex, the
first delete in B's change log failed the B -> C sync with `400 MissingPrimaryKeyValue`.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from convex_demo.sync import SOURCE, SyncResult, run_sync, write_state
from convex_local import LocalDeployment


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def _catalog(source_config: Path) -> dict[str, Any]:
    out = subprocess.run([str(SOURCE), "discover", "--config", str(source_config)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    (catalog,) = [json.loads(line)["catalog"] for line in out.splitlines() if '"CATALOG"' in line]
    return {"streams": [
        {"stream": stream, "sync_mode": "incremental", "cursor_field": ["_ts"], "destination_sync_mode": "append_dedup",
         "primary_key": [["_id"]], "generation_id": 0, "minimum_generation_id": 0, "sync_id": 1}
        for stream in catalog["streams"]
    ]}


class Hop:
    """One source -> destination link whose state carries over between syncs."""

    def __init__(self, work: Path, name: str, source: LocalDeployment, destination: LocalDeployment) -> None:
        self.work, self.name = work, name
        self.source_config = _write(work / f"{name}-source.json",
                                    {"deployment_url": source.url, "access_key": source.admin_key})
        self.destination_config = _write(work / f"{name}-destination.json",
                                         {"deployment_url": destination.url, "access_key": destination.admin_key})
        self.state: Path | None = None
        self.catalog: Path | None = None

    def sync(self, label: str) -> SyncResult:
        if self.catalog is None:
            self.catalog = _write(self.work / f"{self.name}-catalog.json", _catalog(self.source_config))
        result = run_sync(self.work, f"{self.name}-{label}", self.source_config, self.destination_config,
                          self.catalog, self.state, time.monotonic() + 240)
        self.state = self.work / f"{self.name}-state.json"
        write_state(self.state, result.states)
        return result


def _user_fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k in ("name", "n", "tags")}


@pytest.mark.timeout(600)
def test_a_to_b_to_c_with_inserts_updates_and_deletes_ends_with_c_equal_to_a(
    convex_server_factory: Any, tmp_path: Path
) -> None:
    a, b, c = (convex_server_factory(seed=seed) for seed in (1, 2, 3))
    ids = [a.insert("users", {"name": f"user {i}", "n": float(i), "tags": ["x"]}) for i in range(30)]
    a_to_b, b_to_c = Hop(tmp_path, "ab", a, b), Hop(tmp_path, "bc", b, c)
    a_to_b.sync("first")
    b_to_c.sync("first")

    with a.transaction() as tx:
        for doc_id in ids[:5]:
            tx.delete(doc_id)
        for i, doc_id in enumerate(ids[5:10]):
            tx.patch(doc_id, {"name": f"renamed {i}"})
        ids += [tx.insert("users", {"name": f"new {i}", "n": 100.0 + i, "tags": []}) for i in range(3)]
    a_to_b.sync("second")
    second = b_to_c.sync("second")
    assert sum(second.deletes.values()) >= 5, "B's change log carried the deletes to C"

    in_a = {d["_id"]: d for d in a.documents("users")}
    in_c = {d["source_id"]: d for d in c.documents("users")}  # A's id, as B stored it
    assert len(in_a) == 28 and set(in_c) == set(in_a)
    for doc_id, doc in in_a.items():
        copy = in_c[doc_id]
        assert _user_fields(copy) == _user_fields(doc)
        assert copy["source_creationtime"] == doc["_creationTime"]
        assert copy["source_source_id"] in {d["_id"] for d in b.documents("users")}  # B's id, in every record

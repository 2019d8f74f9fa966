"""`python -m convex_local serve` as its own process, driven through ControlClient."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from convex_local import LocalDeployment
from convex_local.control import ControlClient

pytestmark = pytest.mark.timeout(60)


class Served:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "convex_local", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert line, self.proc.stderr.read()  # type: ignore[union-attr]
        self.info: dict[str, Any] = json.loads(line)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.stderr = self.proc.stderr.read()  # type: ignore[union-attr]
        return rc


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served("--log-level", "INFO")
    yield s
    s.stop()


def test_serve_prints_one_json_line_and_stops_on_sigterm(served: Served) -> None:
    assert set(served.info) == {"url", "admin_key", "read_only_key"}
    assert served.info["url"].startswith("http://127.0.0.1:")
    resp = requests.get(served.info["url"] + "/api/list_snapshot",
                        headers={"Authorization": "Convex " + served.info["admin_key"]}, timeout=10)
    assert resp.status_code == 200
    assert served.stop() == 0
    assert "/api/list_snapshot" in served.stderr
    assert served.info["admin_key"].split("|")[1] not in served.stderr


def test_control_client_seeds_and_controls(served: Served) -> None:
    url, key = served.info["url"], served.info["admin_key"]
    with ControlClient(url, key) as ctl:
        ctl.create_table("empty")
        doc_id = ctl.insert("users", {"n": 5, "f": 1.5, "b": b"\x01", "nan": math.nan, "nested": {"l": [1, None]}})
        result = ctl.transaction([
            {"op": "insert", "table": "users", "value": {"n": 6}},
            {"op": "patch", "ref": 0, "value": {"extra": True}},
            {"op": "delete", "id": doc_id},
        ])
        assert len(result["ids"]) == 1 and isinstance(result["ts"], int)
        ids = ctl.generate("posts", 30, seed=4)
        assert len(ids) == 30
        assert ctl.table_names() == ["empty", "posts", "users"]
        (doc,) = ctl.documents("users")
        assert doc["n"] == 6 and type(doc["n"]) is int and doc["extra"] is True
        ctl.insert("users", {"i": 7, "b": b"\x02", "nan": math.nan})
        typed = [d for d in ctl.documents("users") if "i" in d][0]
        assert typed["i"] == 7 and typed["b"] == b"\x02" and math.isnan(typed["nan"])

        api = requests.Session()
        api.headers["Authorization"] = "Convex " + key
        ctl.inject_fault(route="list_snapshot", kind="503", count=1)
        assert api.get(url + "/api/list_snapshot", timeout=10).status_code == 503
        assert api.get(url + "/api/list_snapshot", timeout=10).status_code == 200
        ctl.inject_fault(kind="500")
        assert api.get(url + "/api/json_schemas", timeout=10).status_code == 500
        ctl.clear_faults()

        start = ctl.now_ns()
        assert ctl.set_clock(start + 10**12) == start + 10**12
        assert ctl.advance_clock(5) == start + 10**12 + 5

        log = ctl.request_log("list_snapshot")
        assert [e["status"] for e in log] == [503, 200]
        ctl.clear_request_log()
        assert ctl.request_log() == []
        assert ctl.update_settings(latency_s=0.0)["latency_s"] == 0.0
        with pytest.raises(RuntimeError):
            ctl.update_settings(bogus=1)

    ro = ControlClient(url, served.info["read_only_key"])
    with pytest.raises(RuntimeError, match="403"):
        ro.table_names()
    ro.close()


def test_file_storage_survives_a_restart_with_the_same_keys(tmp_path: Path) -> None:
    path = str(tmp_path / "data.sqlite")
    first = Served("--data", path, "--seed-demo")
    with ControlClient(first.info["url"], first.info["admin_key"]) as ctl:
        users = ctl.documents("users")
        tables = ctl.table_names()
    assert first.stop() == 0
    second = Served("--data", path, "--seed-demo")
    try:
        assert second.info["admin_key"] == first.info["admin_key"]
        with ControlClient(second.info["url"], second.info["admin_key"]) as ctl:
            assert ctl.documents("users") == users and ctl.table_names() == tables
            new_id = ctl.insert("users", {"after": "restart"})
            assert new_id not in {u["_id"] for u in users}
    finally:
        assert second.stop() == 0


def test_in_process_file_deployment_keeps_revisions(tmp_path: Path) -> None:
    path = str(tmp_path / "d.sqlite")
    dep = LocalDeployment(data=path)
    doc = dep.insert("t", {"v": 1})
    with dep.transaction() as tx:
        tx.replace(doc, {"v": 2})
    last = dep.db.last_commit_ts
    dep.stop()
    again = LocalDeployment(data=path)
    try:
        assert again.documents("t")[0]["v"] == 2
        assert again.insert("t", {"v": 3}) and again.db.last_commit_ts > last
        assert [r.kind for r in again.db.store.log_rows(0, 2**62, 10)] == [0, 1, 0]
    finally:
        again.stop()

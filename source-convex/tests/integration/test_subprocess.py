"""The `source-convex` console script, as the platform and `docker run` invoke it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from convex_local import LocalDeployment
from source_helpers import config_for, protocol_catalog, run_process

pytestmark = pytest.mark.timeout(60)

EXE = Path(sys.executable).with_name("source-convex")
DAY = 86_400 * 10**9


def _run(tmp_path: Path, *args: str, **files: object) -> tuple[int, list[dict], str]:
    return run_process([str(EXE), *args], tmp_path, **files)


_catalog = protocol_catalog


def test_spec(tmp_path: Path) -> None:
    code, messages, _ = _run(tmp_path, "spec")
    assert code == 0
    (spec,) = [m for m in messages if m["type"] == "SPEC"]
    assert spec["spec"]["connectionSpecification"]["required"] == ["deployment_url", "access_key"]


def test_read_continues_an_incumbent_legacy_state_file(convex_server: LocalDeployment, tmp_path: Path) -> None:
    convex_server.generate("users", 5, seed=1)
    position = convex_server.clock.now_ns()
    new = [convex_server.insert("users", {"n": i}) for i in range(3)]
    legacy = {"users": {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": position}}
    code, messages, output = _run(tmp_path, "read", config=config_for(convex_server), catalog=_catalog("users"),
                                  state=legacy)
    assert code == 0, output
    assert [m["record"]["data"]["_id"] for m in messages if m["type"] == "RECORD"] == new
    states = [m["state"] for m in messages if m["type"] == "STATE"]
    assert states[-1]["type"] == "STREAM" and states[-1]["stream"]["stream_state"]["delta_cursor"] > position
    assert sum(s["sourceStats"]["recordCount"] for s in states) == 3
    assert convex_server.admin_key not in output


def test_check_with_a_wrong_key_fails_cleanly(convex_server: LocalDeployment, tmp_path: Path) -> None:
    key = "convex-self-hosted|" + "ab" * 24
    code, messages, output = _run(tmp_path, "check", config=config_for(convex_server, key=key))
    assert code == 0, output
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED" and "BadAdminKey" in status["message"]
    assert key not in output and "ab" * 24 not in output


def test_expired_read_exits_non_zero_with_a_config_error(convex_server: LocalDeployment, tmp_path: Path) -> None:
    convex_server.generate("users", 2, seed=1)
    old = convex_server.clock.now_ns() - 30 * DAY
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"},
              "stream_state": {"snapshot_cursor": None, "snapshot_has_more": False, "delta_cursor": old}}}]
    code, messages, output = _run(tmp_path, "read", config=config_for(convex_server), catalog=_catalog("users"),
                                  state=state)
    assert code != 0
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert errors and errors[-1]["failure_type"] == "config_error" and "30.0 days old" in errors[-1]["message"]
    statuses = [m["trace"]["stream_status"]["status"] for m in messages
                if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"]
    assert statuses == ["STARTED", "INCOMPLETE"]
    assert convex_server.admin_key not in output


def test_top_level_nulls_reach_the_destination(convex_server: LocalDeployment, tmp_path: Path) -> None:
    """The CDK's serialiser drops top-level nulls of a record; the console script keeps them."""
    doc_id = convex_server.insert("users", {"name": "a", "deletedAt": None, "nested": {"x": None}})
    code, messages, output = _run(tmp_path, "read", config=config_for(convex_server),
                                  catalog=_catalog("users", mode="full_refresh"))
    assert code == 0, output
    (record,) = [m["record"] for m in messages if m["type"] == "RECORD"]
    data = record["data"]
    assert data["_id"] == doc_id
    assert "deletedAt" in data and data["deletedAt"] is None
    assert data["nested"] == {"x": None}
    assert "_ab_cdc_deleted_at" in data and data["_ab_cdc_deleted_at"] is None
    assert record["stream"] == "users" and "namespace" not in record and isinstance(record["emitted_at"], int)


def test_read_starts_without_the_cdk_parts_it_never_uses(convex_server: LocalDeployment, tmp_path: Path) -> None:
    """The console script skips the CDK package's `__init__` (declarative, file-based and legacy sources):
    about 0.5 s of every command; with the docstring scan it skips too, 1.1 s (bench B7)."""
    convex_server.generate("users", 5, seed=1)
    argv = [str(EXE), "read"]
    for name, content in (("config", config_for(convex_server)), ("catalog", _catalog("users", mode="full_refresh"))):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(content))
        argv += [f"--{name}", str(path)]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=50,
                          env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sum(line.startswith('{"type":"RECORD"') for line in proc.stdout.splitlines()) == 5
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "airbyte_cdk.models.airbyte_protocol_serializers" in imported  # the measurement saw the CDK
    assert not {name for name in imported if name.startswith(("airbyte_cdk.sources.declarative", "airbyte_cdk.legacy",
                                                              "airbyte_cdk.sources.file_based"))}

"""Query-functions mode, run as the `source-convex` process against functions on the local server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from convex_local import LocalDeployment
from convex_local import function_library as lib

pytestmark = pytest.mark.timeout(90)

EXE = Path(sys.executable).with_name("source-convex")


def _run(tmp_path: Path, *args: str, secret: str | None = None, **files: object) -> tuple[int, list[dict[str, Any]]]:
    argv = [str(EXE), *args]
    for name, content in files.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(content))
        argv += [f"--{name}", str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=80)
    if secret:
        assert secret not in proc.stdout + proc.stderr
        assert secret.split("|")[-1] not in proc.stdout + proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _of(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


def _errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["trace"]["error"] for m in _of(messages, "TRACE") if m["trace"]["type"] == "ERROR"]


def _catalog(*streams: tuple[str, str]) -> dict[str, Any]:
    return {"streams": [{"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": mode, "destination_sync_mode": "append"} for name, mode in streams]}


@pytest.fixture
def app(convex_server: LocalDeployment) -> LocalDeployment:
    convex_server.generate("messages", 45, seed=4)
    functions = convex_server.functions
    functions.query("messages:list", lib.paginated_list("messages"))
    functions.query("messages:all", lib.list_all("messages"))
    functions.query("admin:list", lib.paginated_list("messages"), internal=True)
    functions.query("messages:mine", lib.paginated_list("messages", owner_field="author"))
    return convex_server


def _config(dep: LocalDeployment, *functions: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return {"deployment_url": dep.url, "access_key": key or dep.admin_key, "query_functions": list(functions)}


def test_check_calls_each_function_once_with_one_item(app: LocalDeployment, tmp_path: Path) -> None:
    config = _config(app, {"function": "messages:list"}, {"function": "messages:all"})
    app.request_log.clear()
    code, messages = _run(tmp_path, "check", secret=app.admin_key, config=config)
    assert code == 0
    assert _of(messages, "CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"
    calls = [e for e in app.request_log.entries() if e.route == "/api/query"]
    assert len(calls) == 2


def test_check_names_a_missing_function(app: LocalDeployment, tmp_path: Path) -> None:
    code, messages = _run(tmp_path, "check", config=_config(app, {"function": "messages:nope"}))
    status = _of(messages, "CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert "messages:nope" in status["message"] and "Could not find public function" in status["message"]


def test_full_refresh_pages_to_the_end_and_incremental_resumes_with_only_new_documents(
        app: LocalDeployment, tmp_path: Path) -> None:
    config = _config(app, {"function": "messages:list", "page_size": 10, "table": "messages"},
                     {"function": "messages:all", "stream_name": "everything"})
    catalog = _catalog(("messages", "incremental"), ("everything", "full_refresh"))
    code, messages = _run(tmp_path, "read", secret=app.admin_key, config=config, catalog=catalog)
    assert code == 0, _errors(messages)
    records = _of(messages, "RECORD")
    ids = [r["record"]["data"]["_id"] for r in records if r["record"]["stream"] == "messages"]
    assert len(ids) == len(set(ids)) == 45
    assert sum(r["record"]["stream"] == "everything" for r in records) == 45
    states = [m["state"] for m in _of(messages, "STATE")]
    assert len(states) == 5  # one per page: 10, 10, 10, 10, 5
    last = states[-1]

    # Nothing new: nothing read. Then new documents: exactly those.
    code, messages = _run(tmp_path, "read", config=config, catalog=_catalog(("messages", "incremental")), state=[last])
    assert code == 0 and not _of(messages, "RECORD")
    new_ids = app.generate("messages", 12, seed=5)
    code, messages = _run(tmp_path, "read", config=config, catalog=_catalog(("messages", "incremental")),
                          state=[_of(messages, "STATE")[-1]["state"]])
    assert code == 0
    assert sorted(r["record"]["data"]["_id"] for r in _of(messages, "RECORD")) == sorted(new_ids)


def test_discover_uses_json_schemas_for_a_named_table_and_infers_otherwise(app: LocalDeployment, tmp_path: Path) -> None:
    config = _config(app, {"function": "messages:list", "table": "messages"}, {"function": "messages:all"})
    code, messages = _run(tmp_path, "discover", config=config)
    assert code == 0, _errors(messages)
    streams = {s["name"]: s for s in _of(messages, "CATALOG")[0]["catalog"]["streams"]}
    assert "json_schemas" in streams["messages"]["json_schema"]["description"]
    assert streams["messages"]["supported_sync_modes"] == ["full_refresh", "incremental"]
    assert streams["messages"]["default_cursor_field"] == ["_creationTime"]
    assert "inferred" in streams["messages_all"]["json_schema"]["description"]
    assert streams["messages_all"]["supported_sync_modes"] == ["full_refresh"]


def test_an_internal_function_needs_the_deploy_key(app: LocalDeployment, tmp_path: Path) -> None:
    token = app.functions.add_user_token("user-1")
    config = _config(app, {"function": "admin:list"}, key=f"Bearer {token}")
    code, messages = _run(tmp_path, "read", secret=token, config=config, catalog=_catalog(("admin_list", "full_refresh")))
    assert code != 0
    (error,) = _errors(messages)
    assert error["failure_type"] == "config_error"
    assert "admin:list" in error["message"] and "internal function" in error["message"]
    code, messages = _run(tmp_path, "read", config=_config(app, {"function": "admin:list"}),
                          catalog=_catalog(("admin_list", "full_refresh")))
    assert code == 0 and len(_of(messages, "RECORD")) == 45


def test_a_user_token_exports_only_what_the_users_functions_allow(convex_server: LocalDeployment, tmp_path: Path) -> None:
    for author in ("ada", "bob", "ada"):
        convex_server.insert("notes", {"author": author, "text": f"by {author}"})
    convex_server.functions.query("notes:mine", lib.paginated_list("notes", owner_field="author"))
    token = convex_server.functions.add_user_token("ada")
    config = _config(convex_server, {"function": "notes:mine", "stream_name": "notes"}, key=f"Bearer {token}")
    code, messages = _run(tmp_path, "read", secret=token, config=config, catalog=_catalog(("notes", "full_refresh")))
    assert code == 0, _errors(messages)
    assert [r["record"]["data"]["author"] for r in _of(messages, "RECORD")] == ["ada", "ada"]
    convex_server.functions.revoke_user_token(token)
    code, messages = _run(tmp_path, "read", secret=token, config=config, catalog=_catalog(("notes", "full_refresh")))
    (error,) = _errors(messages)
    assert error["failure_type"] == "config_error" and "Unauthenticated" in error["message"]


def test_a_convex_error_is_a_config_error_naming_the_function_and_log_lines_reach_the_log(
        convex_server: LocalDeployment, tmp_path: Path) -> None:
    convex_server.functions.query("notes:mine", lib.paginated_list("notes", owner_field="author"))
    code, messages = _run(tmp_path, "read", config=_config(convex_server, {"function": "notes:mine"}),
                          catalog=_catalog(("notes_mine", "full_refresh")))
    (error,) = _errors(messages)
    assert error["failure_type"] == "config_error"
    assert "notes:mine" in error["message"] and "Unauthenticated" in error["message"]
    logs = [m["log"]["message"] for m in _of(messages, "LOG")]
    assert any("listing notes" in line for line in logs)

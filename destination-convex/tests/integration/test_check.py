"""`check` proves reachability, that the key belongs to the deployment, and import permission."""

import types
from typing import Any

import pytest

FAKE_KEY = "convex-self-hosted|01ab23cd45ef67890123456789abcdef0123456789abcdef"


def status(run: Any) -> dict[str, Any]:
    (message,) = run.of_type("CONNECTION_STATUS")
    return message["connectionStatus"]


@pytest.mark.timeout(60)
def test_admin_key_succeeds_without_writing(convex_server: Any, run_check: Any) -> None:
    result = run_check(convex_server)
    assert status(result) == {"status": "SUCCEEDED"}
    assert convex_server.table_names() == []
    routes = [entry.name for entry in convex_server.request_log]
    assert routes == ["primary_key_indexes_ready"], "check is one read-only, import-permission request"
    assert all(entry.client and entry.client.startswith("streaming-import-") for entry in convex_server.request_log)


@pytest.mark.timeout(60)
def test_wrong_key_fails_with_convex_explanation(convex_server: Any, run_check: Any) -> None:
    result = run_check(convex_server, key=FAKE_KEY)
    outcome = status(result)
    assert outcome["status"] == "FAILED"
    assert "BadAdminKey" in outcome["message"]
    assert result.returncode == 0


@pytest.mark.timeout(60)
def test_read_only_key_fails_naming_the_permission(convex_server: Any, run_check: Any) -> None:
    result = run_check(convex_server, key=convex_server.read_only_key)
    outcome = status(result)
    assert outcome["status"] == "FAILED"
    assert "OperationNotPermitted" in outcome["message"]
    assert "deployment:backups:import" in outcome["message"]


@pytest.mark.timeout(60)
def test_unreachable_deployment_and_bad_options_fail_clearly(convex_server: Any, run_check: Any) -> None:
    stopped = types.SimpleNamespace(url=convex_server.url, admin_key=convex_server.admin_key)
    convex_server.stop()
    outcome = status(run_check(stopped, connect_timeout_seconds=2))
    assert outcome["status"] == "FAILED"
    assert stopped.url.split("//")[1] in outcome["message"] and "refused" in outcome["message"]
    outcome = status(run_check(stopped, max_batch_size_mib=100))
    # The CDK validates the config against the spec first; its message names the bound.
    assert outcome["status"] == "FAILED" and "maximum of 12" in outcome["message"]

"""Check: proves the key may export, and explains every failure without a traceback or the key."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import Status
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from convex_local import LocalDeployment
from source_helpers import assert_no_key, config_for

pytestmark = pytest.mark.timeout(60)

OTHER_KEY = "convex-self-hosted|01ab23cd45ef67890123456789abcdef0123456789abcdef99"
EXE = Path(sys.executable).with_name("source-convex")


def _check(config: dict) -> tuple[Status, str, EntrypointOutput]:
    """`source-convex check` run as the platform runs it: a process, its stdout and stderr."""
    proc = subprocess.run([str(EXE), "check", "--config", _write(config)], capture_output=True, text=True, timeout=50)
    out = EntrypointOutput(messages=proc.stdout.splitlines(), stderr=proc.stderr)
    assert proc.returncode == 0 and not out.errors, out.get_formatted_error_message() + proc.stderr[-2000:]
    (message,) = out.connection_status_messages
    assert_no_key(out, config["access_key"])
    assert config["access_key"].split("|", 1)[-1] not in proc.stderr
    status = message.connectionStatus
    return status.status, status.message or "", out


def _write(config: dict) -> str:
    import json
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(config, handle)
    handle.close()
    return handle.name


def test_admin_and_read_only_keys_pass(convex_server: LocalDeployment) -> None:
    assert _check(config_for(convex_server))[0] == Status.SUCCEEDED
    assert _check(config_for(convex_server, key=convex_server.read_only_key))[0] == Status.SUCCEEDED


def test_wrong_key(convex_server: LocalDeployment) -> None:
    status, message, _ = _check(config_for(convex_server, key=OTHER_KEY))
    assert status == Status.FAILED
    assert "BadAdminKey" in message and "deploy key" in message


def test_streaming_export_not_on_the_plan(convex_server: LocalDeployment) -> None:
    convex_server.settings.streaming_export_enabled = False
    status, message, _ = _check(config_for(convex_server))
    assert status == Status.FAILED
    assert "StreamingExportNotEnabled" in message and "convex.dev/plans" in message


def test_unreachable_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    status, message, _ = _check({"deployment_url": f"http://127.0.0.1:{port}", "access_key": OTHER_KEY})
    assert status == Status.FAILED
    assert "refused" in message and f"127.0.0.1:{port}" in message


def test_convex_site_url_is_explained() -> None:
    status, message, _ = _check({"deployment_url": "https://happy-animal-123.convex.site", "access_key": OTHER_KEY})
    assert status == Status.FAILED
    assert "https://happy-animal-123.convex.cloud" in message


def test_bad_option_is_a_failed_status_not_a_traceback(convex_server: LocalDeployment) -> None:
    status, message, _ = _check(config_for(convex_server, key="Bearer " + OTHER_KEY))
    assert status == Status.FAILED
    assert "user sign-in token" in message


def test_tables_that_do_not_exist(convex_server: LocalDeployment) -> None:
    convex_server.create_table("users")
    status, message, _ = _check(config_for(convex_server, tables=["users", "userz"]))
    assert status == Status.FAILED
    assert "userz" in message


def test_a_check_lists_the_tables_once(convex_server: LocalDeployment) -> None:
    """The tables setting names a missing table: the check explains it from the one listing it made."""
    convex_server.generate("users", 2, seed=1)
    convex_server.request_log.clear()
    status, message, _ = _check(config_for(convex_server, tables=["usres"]))
    assert status == Status.FAILED and "did you mean users?" in message
    assert [e.name for e in convex_server.request_log.entries()].count("json_schemas") == 1

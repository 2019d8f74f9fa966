"""Run the destination as a subprocess (`destination-convex write|check`) against the local server.

`run_destination(deployment, streams, messages, **config)` writes the config and catalog to a
temporary directory, feeds `messages` (dicts, or raw bytes for bad-input tests) on stdin, and
returns the parsed stdout messages. Every run asserts that the access key appears nowhere in
stdout or stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
import pytest

SCRIPT = str(Path(sys.executable).parent / "destination-convex")
SCHEMA = {
    "type": "object",
    "properties": {
        "_id": {"type": "string"},
        "name": {"type": "string"},
        "n": {"type": "number"},
        "_ab_cdc_deleted_at": {"type": ["null", "string"]},
    },
}


@dataclass
class Run:
    returncode: int
    messages: list[dict[str, Any]]
    stderr: str
    stdout: str = field(repr=False)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def logs(self) -> str:
        return "\n".join(m["log"]["message"] for m in self.of_type("LOG"))

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]


def stream(name: str, mode: str = "append", namespace: str | None = None, primary_key: list[list[str]] | None = None,
           schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One ConfiguredAirbyteStream as JSON."""
    configured: dict[str, Any] = {
        "stream": {"name": name, "json_schema": schema or SCHEMA, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": "incremental",
        "destination_sync_mode": mode,
        **extra,
    }
    if namespace is not None:
        configured["stream"]["namespace"] = namespace
    if primary_key is not None:
        configured["primary_key"] = primary_key
    return configured


def record(stream_name: str, data: Any, namespace: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"stream": stream_name, "data": data, "emitted_at": 1_700_000_000_000}
    if namespace is not None:
        rec["namespace"] = namespace
    return {"type": "RECORD", "record": rec}


def stream_state(stream_name: str, value: Any, namespace: str | None = None) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": stream_name}
    if namespace is not None:
        descriptor["namespace"] = namespace
    return {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": descriptor,
                                                                    "stream_state": {"cursor": value}}}}


def global_state(value: Any) -> dict[str, Any]:
    return {"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"lsn": value}, "stream_states": []}}}


def encode_input(messages: Iterable[dict[str, Any] | bytes]) -> bytes:
    return b"".join((m if isinstance(m, bytes) else orjson.dumps(m)) + b"\n" for m in messages)


def parse_output(stdout: str) -> list[dict[str, Any]]:
    messages = []
    for line in stdout.splitlines():
        if line.strip():
            messages.append(json.loads(line))  # every stdout line must be an Airbyte message
    return messages


def write_files(tmp_path: Path, deployment: Any, streams: list[dict[str, Any]], key: str | None,
                config: dict[str, Any]) -> tuple[Path, Path]:
    config_path = tmp_path / "config.json"
    catalog_path = tmp_path / "catalog.json"
    config_path.write_text(json.dumps({"deployment_url": deployment.url,
                                       "access_key": key or deployment.admin_key, **config}))
    catalog_path.write_text(json.dumps({"streams": streams}))
    return config_path, catalog_path


def assert_no_secret(text: str, *keys: str) -> None:
    for key in keys:
        assert key not in text
        assert key.split("|")[-1] not in text  # not even the secret half


@pytest.fixture
def run_destination(tmp_path: Path) -> Callable[..., Run]:
    def run(deployment: Any, streams: list[dict[str, Any]], messages: Iterable[dict[str, Any] | bytes],
            key: str | None = None, timeout: float = 90, **config: Any) -> Run:
        config_path, catalog_path = write_files(tmp_path, deployment, streams, key, config)
        result = subprocess.run(
            [SCRIPT, "write", "--config", str(config_path), "--catalog", str(catalog_path)],
            input=encode_input(messages), capture_output=True, timeout=timeout,
        )
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        assert_no_secret(stdout + stderr, key or deployment.admin_key)
        return Run(result.returncode, parse_output(stdout), stderr, stdout)

    return run


@pytest.fixture
def run_check(tmp_path: Path) -> Callable[..., Run]:
    def run(deployment: Any, key: str | None = None, **config: Any) -> Run:
        config_path, _ = write_files(tmp_path, deployment, [], key, config)
        result = subprocess.run([SCRIPT, "check", "--config", str(config_path)], capture_output=True, timeout=60)
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        assert_no_secret(stdout + stderr, key or deployment.admin_key)
        return Run(result.returncode, parse_output(stdout), stderr, stdout)

    return run


@pytest.fixture
def make() -> Any:
    """Builders for catalog streams and input messages (fixtures, since test modules are not importable)."""
    import types

    return types.SimpleNamespace(stream=stream, record=record, stream_state=stream_state, global_state=global_state,
                                 schema=SCHEMA, encode_input=encode_input, parse_output=parse_output,
                                 write_files=write_files, assert_no_secret=assert_no_secret, script=SCRIPT)

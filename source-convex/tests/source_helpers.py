"""Helpers for running the source against the local Convex-compatible server.

Connectors run for real: in-process through the CDK's `entrypoint_wrapper` (argument
parsing, config validation, secret masking and sourceStats included), or as a subprocess
of the `source-convex` console script. Every run is checked for the access key in its
output.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Optional

import jsonschema
import orjson
from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
    TraceType,
    Type,
)
from airbyte_cdk.test import entrypoint_wrapper
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from convex_local import LocalDeployment
from convex_shared import RetryPolicy

from source_convex import SourceConvex
from source_convex.cadence import Cadence

#: Quick retries for fault-injection tests (the default backs off from 1 s).
FAST_RETRY = RetryPolicy(initial_delay_s=0.02, max_delay_s=0.1)

Key = tuple[Optional[str], str]  # (namespace, stream name)


def config_for(dep: LocalDeployment, key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"deployment_url": dep.url, "access_key": key or dep.admin_key, **extra}


def assert_no_key(out: EntrypointOutput, *keys: str) -> None:
    text = "\n".join(orjson.dumps(AirbyteMessageSerializer.dump(m)).decode() for m in out.get_message_iterator())
    for key in keys:
        assert key not in text
        assert key.split("|", 1)[-1] not in text  # not even the secret half


def discover(dep: LocalDeployment, config: dict[str, Any]) -> AirbyteCatalog:
    out = entrypoint_wrapper.discover(SourceConvex(), config)
    assert not out.errors, out.get_formatted_error_message()
    assert_no_key(out, config["access_key"])
    return out.catalog.catalog  # type: ignore[return-value]


def configured(
    catalog: AirbyteCatalog, mode: SyncMode = SyncMode.incremental, names: Iterable[str] | None = None
) -> ConfiguredAirbyteCatalog:
    wanted = set(names) if names is not None else None
    return ConfiguredAirbyteCatalog(streams=[
        ConfiguredAirbyteStream(
            stream=stream, sync_mode=mode, destination_sync_mode=DestinationSyncMode.append_dedup,
            cursor_field=["_ts"], primary_key=[["_id"]],
        )
        for stream in catalog.streams
        if wanted is None or stream.name in wanted
    ])


def read(
    config: dict[str, Any],
    catalog: ConfiguredAirbyteCatalog,
    state: list[AirbyteStateMessage] | None = None,
    cadence: Cadence = Cadence(),
    expect_failure: bool = False,
    retry: RetryPolicy | None = None,
) -> EntrypointOutput:
    outcome = (entrypoint_wrapper.ExpectedOutcome.EXPECT_EXCEPTION if expect_failure
               else entrypoint_wrapper.ExpectedOutcome.EXPECT_SUCCESS)
    out = entrypoint_wrapper.read(SourceConvex(cadence, retry), config, catalog, state, expected_outcome=outcome)
    if expect_failure:
        assert out.errors, "expected the read to fail"
    else:
        assert not out.errors, out.get_formatted_error_message()
    assert_no_key(out, config["access_key"])
    return out


def stream_key(message: AirbyteMessage) -> Key:
    if message.type == Type.RECORD:
        return (message.record.namespace, message.record.stream)  # type: ignore[union-attr]
    descriptor = message.state.stream.stream_descriptor  # type: ignore[union-attr]
    return (descriptor.namespace, descriptor.name)


def records(out: EntrypointOutput) -> dict[Key, list[dict[str, Any]]]:
    by_stream: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for message in out.records:
        by_stream[stream_key(message)].append(message.record.data)  # type: ignore[union-attr]
    return dict(by_stream)


def ids(rows: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(row["_id"] for row in rows)


def last_states(messages: Iterable[AirbyteMessage]) -> list[AirbyteStateMessage]:
    """The newest state per stream among `messages`: what the platform would save."""
    latest: dict[Key, AirbyteStateMessage] = {}
    for message in messages:
        if message.type == Type.STATE:
            latest[stream_key(message)] = message.state  # type: ignore[assignment]
    return list(latest.values())


def state_blobs(out: EntrypointOutput) -> dict[Key, dict[str, Any]]:
    return {stream_key(m): dict(m.state.stream.stream_state.__dict__) for m in out.state_messages}  # type: ignore[union-attr]


def statuses(out: EntrypointOutput) -> dict[Key, list[AirbyteStreamStatus]]:
    by_stream: dict[Key, list[AirbyteStreamStatus]] = defaultdict(list)
    for message in out.trace_messages:
        if message.trace.type == TraceType.STREAM_STATUS:  # type: ignore[union-attr]
            status = message.trace.stream_status  # type: ignore[union-attr]
            by_stream[(status.stream_descriptor.namespace, status.stream_descriptor.name)].append(status.status)
    return dict(by_stream)


def log_text(out: EntrypointOutput) -> str:
    return "\n".join(m.log.message for m in out.logs)  # type: ignore[union-attr]


#: JSON Schema keywords Airbyte destinations do not support in stream schemas.
UNSUPPORTED_KEYWORDS = ("allOf", "not")


def catalog_problems(catalog: AirbyteCatalog) -> list[str]:
    """What a platform would refuse in a discovered catalog, one line per problem: a stream schema that
    is not valid draft-07, a cursor or primary-key field missing from it, a key field typed object or
    array, a keyword destinations do not support, `additionalProperties: false` (Convex documents gain
    fields). The standard suite runs the CDK's own checks on the test deployment's catalog; these are
    the same rules, in public API, for the catalogs the other tests build."""
    problems: list[str] = []
    for stream in catalog.streams:
        name = f"{stream.namespace}/{stream.name}" if stream.namespace else stream.name
        schema = stream.json_schema
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as err:
            problems.append(f"{name}: not a valid JSON schema ({err.message})")
        for path in [stream.default_cursor_field or [], *(stream.source_defined_primary_key or [])]:
            field = _field(schema, path)
            if path and field is None:
                problems.append(f"{name}: {'.'.join(path)} is declared but not in the schema")
        for path in stream.source_defined_primary_key or []:
            field = _field(schema, path)
            types = field.get("type", []) if field is not None else []
            if ({types} if isinstance(types, str) else set(types)) & {"object", "array"}:
                problems.append(f"{name}: primary key field {'.'.join(path)} is not a scalar ({types})")
        for sub in _subschemas(schema):
            problems += [f"{name}: uses {word}" for word in UNSUPPORTED_KEYWORDS if word in sub]
            if sub.get("additionalProperties") is False:
                problems.append(f"{name}: sets additionalProperties to false")
    return problems


def _field(schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    for part in path:
        found = schema.get("properties", {}).get(part)
        if not isinstance(found, dict):
            return None
        schema = found
    return schema


def _subschemas(schema: Any) -> Iterable[dict[str, Any]]:
    """`schema` and every schema inside it (property names are never taken for keywords)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for sub in value.values():
                yield from _subschemas(sub)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            for sub in value:
                yield from _subschemas(sub)
        elif key in ("items", "additionalProperties", "not"):
            yield from _subschemas(value)


def run_process(argv: list[str], tmp_path: Path, timeout_s: float = 50, **files: object) -> tuple[int, list[dict], str]:
    """Run a source command line as a process, each of `files` (config, catalog, state) written to a
    file of its own and passed as `--<name>`: (exit code, protocol messages, stdout + stderr)."""
    argv = list(argv)
    for name, content in files.items():
        path = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(content))
        argv += [f"--{name}", str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, messages, proc.stdout + proc.stderr


def protocol_catalog(*names: str, mode: str = "incremental") -> dict:
    """A configured catalog, as JSON, reading `names` (incremental append-dedup on `_id` by default)."""
    return {"streams": [{
        "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                   "source_defined_cursor": True, "default_cursor_field": ["_ts"]},
        "sync_mode": mode, "destination_sync_mode": "append_dedup", "cursor_field": ["_ts"], "primary_key": [["_id"]],
    } for name in names]}

"""check, discover and read for query-functions mode (see `query_functions`).

- `check` calls every configured function once with `numItems: 1`;
- `discover` offers one stream per function: its schema comes from `json_schemas` when the
  stream names its `table` and the key may read schemas (streaming export's route, so not on
  every plan), else it is inferred from the function's first page, and the stream's
  description says which. Paginated functions offer incremental append (cursor `_creationTime`);
- `read` emits RECORDs, and for incremental streams a STATE after every page.
Convex failures cross the boundary as AirbyteTracedException naming the function.

## Stream schemas

Stream schemas for query-functions mode, in the values the Functions API returns (format=json).

Values come as Convex's clean JSON: int64 as a base-10 string, bytes as base64, special floats
as strings. So a table's `json_schemas` entry (format=json) already describes them; it is only
relaxed (every object open to new fields, nothing required below the top, `$description` ->
`description`, `items: false` -> `{}`), since it was inferred from today's data. Without a table
schema, the schema is inferred from a page of results: each top-level field gets the JSON types
seen in it (plus null, as a later document may omit it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    AirbyteStreamStatus,
    ConfiguredAirbyteCatalog,
    StreamDescriptor,
    SyncMode,
    Type,
)

from convex_shared import ConvexClient, ConvexError, RetryPolicy
from convex_shared.airbyte import to_trace
from convex_shared.functions import AuthScheme, FunctionsClient

from . import messages
from .config import TableRef
from .messages import Emitted
from .query_functions import (
    CREATION_TIME,
    FunctionsConfig,
    QueryFunctionStream,
    fetch_page,
    objects,
    parse_config,
    read_pages,
)

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def _config(config: Mapping[str, Any], retry: RetryPolicy | None = None) -> FunctionsConfig:
    try:
        return parse_config(config, retry)
    except ConvexError as err:
        raise to_trace(err, "Reading the query_functions configuration") from None


def check(
    config: Mapping[str, Any], client_id: str, logger: logging.Logger, retry: RetryPolicy
) -> tuple[bool, str | None]:
    try:
        functions_config = parse_config(config, retry)
        with FunctionsClient(functions_config.connection, functions_config.auth, client_id, logger) as client:
            for stream in functions_config.streams:
                try:
                    objects(stream, fetch_page(client, stream, None, num_items=1).documents)
                except ConvexError as err:
                    return False, f"Calling the query function {stream.function} (stream '{stream.name}'): {err}"
    except ConvexError as err:
        return False, str(err)
    return True, None


def discover(config: Mapping[str, Any], client_id: str, logger: logging.Logger) -> AirbyteCatalog:
    functions_config = _config(config)
    schemas = _table_schemas(functions_config, client_id, logger)
    streams = []
    with FunctionsClient(functions_config.connection, functions_config.auth, client_id, logger) as client:
        for stream in functions_config.streams:
            try:
                page = fetch_page(client, stream, None)
            except ConvexError as err:
                raise to_trace(err, f"Calling the query function {stream.function} (stream '{stream.name}')") from None
            documents = objects(stream, page.documents)
            known = schemas.get(stream.table) if stream.table else None
            if known is not None:
                schema = table_schema(known)
                source = f"schema of table '{stream.table}' from Convex's json_schemas"
            else:
                schema = inferred_schema(documents)
                source = f"schema inferred from the first {len(documents)} documents the function returned"
            schema["description"] = f"Read through the Convex query function {stream.function}; {source}."
            has_id = "_id" in schema.get("properties", {})
            incremental = page.paginated and CREATION_TIME in schema.get("properties", {})
            streams.append(
                AirbyteStream(
                    name=stream.name,
                    json_schema=schema,
                    supported_sync_modes=[SyncMode.full_refresh, SyncMode.incremental]
                    if incremental
                    else [SyncMode.full_refresh],
                    source_defined_cursor=True if incremental else None,
                    default_cursor_field=[CREATION_TIME] if incremental else None,
                    source_defined_primary_key=[["_id"]] if has_id else None,
                    is_resumable=incremental,
                )
            )
    return AirbyteCatalog(streams=streams)


def _table_schemas(functions_config: FunctionsConfig, client_id: str, logger: logging.Logger) -> dict[str, Any]:
    """Root tables' json_schemas when the key may read them; {} otherwise (a user token, or a plan
    without streaming export: the route is streaming export's)."""
    if functions_config.auth.scheme is not AuthScheme.DEPLOY_KEY or not any(s.table for s in functions_config.streams):
        return {}
    try:
        with ConvexClient(functions_config.connection, client_id, logger) as client:
            by_component = client.json_schemas(delta_schema=False)
    except ConvexError as err:
        logger.info(
            f"Could not read table schemas ({err.details or err.explanation}); inferring stream schemas "
            "from the functions' results instead."
        )
        return {}
    root = by_component.get("", {})
    return root if isinstance(root, dict) else {}


def read(
    config: Mapping[str, Any],
    client_id: str,
    logger: logging.Logger,
    catalog: ConfiguredAirbyteCatalog,
    state: list[AirbyteStateMessage] | None,
) -> Iterator[Emitted]:
    functions_config = _config(config)
    by_name = {stream.name: stream for stream in functions_config.streams}
    saved = _states(state)
    with FunctionsClient(functions_config.connection, functions_config.auth, client_id, logger) as client:
        for configured_stream in catalog.streams:
            name = configured_stream.stream.name
            stream = by_name.get(name)
            if stream is None:
                logger.warning(
                    f"The catalog names stream '{name}', which no configured query function feeds; skipping it."
                )
                continue
            incremental = configured_stream.sync_mode == SyncMode.incremental
            yield messages.status(name, None, AirbyteStreamStatus.STARTED)
            try:
                yield from _read_stream(client, stream, saved.get(name, {}), incremental, logger)
            except ConvexError as err:
                yield messages.status(name, None, AirbyteStreamStatus.INCOMPLETE)
                raise to_trace(err, f"Reading stream '{name}' through the query function {stream.function}") from None
            yield messages.status(name, None, AirbyteStreamStatus.COMPLETE)
        logger.info(f"Sent {client.request_count} requests to Convex.")


def _read_stream(
    client: FunctionsClient,
    stream: QueryFunctionStream,
    state: Mapping[str, Any],
    incremental: bool,
    logger: logging.Logger,
) -> Iterator[Emitted]:
    count = pages = 0
    logger.info(
        f"Stream '{stream.name}': reading {stream.function} "
        + ("incrementally" + (" from its saved position" if state.get("cursor") else "") if incremental else "in full")
        + "."
    )
    for documents, new_state in read_pages(client, stream, state, incremental, logger):
        pages += 1
        if pages == 1 and documents:
            yield messages.status(stream.name, None, AirbyteStreamStatus.RUNNING)
        if documents:
            yield messages.RecordBatch(TableRef.of_stream(stream.name, None), documents, messages.now_ms())
        count += len(documents)
        if incremental and new_state:
            yield _state_message(stream.name, new_state)
    logger.info(f"Stream '{stream.name}': {count} records from {pages} pages.")


def _state_message(name: str, state: dict[str, Any]) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=name), stream_state=AirbyteStateBlob(state)
            ),
        ),
    )


def _states(state: list[AirbyteStateMessage] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for message in state or []:
        stream = message.stream
        if stream is None or stream.stream_state is None:
            continue
        blob = stream.stream_state.__dict__ if hasattr(stream.stream_state, "__dict__") else {}
        out[stream.stream_descriptor.name] = {k: v for k, v in blob.items() if k in ("cursor", "seen_up_to")}
    return out


# -- stream schemas ---------------------------------------------------------------------------

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "number"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _relax(node: Any, top: bool = False) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$schema" or (key == "required" and not top):
            continue
        if key == "$description":
            out["description"] = value
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {name: _relax(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and not isinstance(value, Mapping):
            out[key] = {} if key == "items" else True
        elif key == "items":
            out["items"] = _relax(value)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_relax(sub) for sub in value]
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = True
    return out


def table_schema(convex_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A table's json_schemas (format=json) entry as a stream schema."""
    schema = _relax(convex_schema, top=True)
    schema["$schema"] = JSON_SCHEMA_DRAFT
    schema["required"] = [name for name in ("_id",) if name in schema.get("properties", {})]
    return schema


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    for python_type, json_type in _JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    return "string"


def inferred_schema(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """An open object schema whose fields are those seen in `documents`, each nullable."""
    types: dict[str, set[str]] = {}
    for document in documents:
        for name, value in document.items():
            types.setdefault(name, set()).add(_type_of(value))
    properties = {name: {"type": sorted(seen | {"null"})} for name, seen in sorted(types.items())}
    return {"$schema": JSON_SCHEMA_DRAFT, "type": "object", "properties": properties, "additionalProperties": True}

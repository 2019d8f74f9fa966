"""Mutation mode: records go to the user's ingest mutation (or HTTP action), not streaming import.

Config: `mutation` (a mutation path, e.g. `ingest:records`) or `http_action_url`
(`https://<name>.convex.site/<path>`), and `max_records_per_call`. With a mutation,
`access_key` is a deploy key, or `Bearer <user token>`; with an HTTP action it is the shared
secret the action checks, sent as `Authorization: Bearer <access_key>`.

The destination creates, clears and indexes nothing in this mode: the function decides what
to store. Overwrite streams are refused (a function cannot be told to replace a table atomically
between two calls); use append or append + dedup, whose `syncMode` and `primaryKey` the function
receives. `check` calls the function with an empty `records` list, which must be a no-op.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from airbyte_cdk.models import ConfiguredAirbyteCatalog

from convex_shared import ConnectionSettings, ConvexError, RetryPolicy
from convex_shared.functions import FunctionAuth, FunctionsClient, HttpActionClient, split_action_url

from .errors import ConfigurationError
from .mutation_writer import MutationWriter
from .options import MIB, WriterOptions
from .plan import StreamPlan, WriteMode, plan_catalog

DEFAULT_RECORDS_PER_CALL = 500
#: Records per call at most: each record is at least one write, and a mutation may write 16,000
#: documents (TRANSACTION_MAX_NUM_USER_WRITES) including its own bookkeeping.
MAX_RECORDS_PER_CALL = 8000
#: Bytes per call at most: half of FUNCTION_MAX_ARGS_SIZE and of TRANSACTION_MAX_USER_WRITE_SIZE_BYTES
#: (16 MiB each), since stored documents grow over their JSON size.
MAX_CALL_BYTES = 8 * MIB


@dataclass(frozen=True)
class MutationConfig:
    mutation: str | None
    http_action_url: str | None
    max_records_per_call: int

    @property
    def target(self) -> str:
        return f"the Convex mutation {self.mutation}" if self.mutation else f"the HTTP action {self.http_action_url}"


def configured(config: Mapping[str, Any]) -> bool:
    return bool(config.get("mutation") or config.get("http_action_url"))


def parse_config(config: Mapping[str, Any]) -> MutationConfig:
    mutation, url = config.get("mutation") or None, config.get("http_action_url") or None
    if mutation and url:
        raise ConfigurationError("Set either mutation or http_action_url, not both.")
    if mutation is not None and (not isinstance(mutation, str) or any(ch.isspace() for ch in mutation.strip())):
        raise ConfigurationError(f"mutation must be a mutation path like 'ingest:records', not {mutation!r}.")
    if url is not None:
        try:
            split_action_url(url)
        except ConvexError as err:
            raise ConfigurationError(err.explanation) from None
    count = config.get("max_records_per_call", DEFAULT_RECORDS_PER_CALL)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RECORDS_PER_CALL:
        raise ConfigurationError(
            f"max_records_per_call must be a whole number from 1 to {MAX_RECORDS_PER_CALL}, not {count!r}."
        )
    return MutationConfig(mutation.strip() if mutation else None, url.strip() if url else None, count)


def _sender(
    config: Mapping[str, Any],
    mutation_config: MutationConfig,
    client_id: str,
    logger: logging.Logger,
    retry: RetryPolicy | None,
    connections: int,
) -> tuple[Callable[[bytes], Any], Callable[[], None]]:
    """(send the arguments of one call, close)."""
    settings = ConnectionSettings.from_config({**config, "access_key": "prod:x|" + "0" * 8}, retry=retry)
    if mutation_config.mutation:
        auth = FunctionAuth.from_access_key(config.get("access_key"))
        client = FunctionsClient(settings, auth, client_id, logger, max_connections=connections)
        path = mutation_config.mutation
        return (lambda args: client.mutation(path, args)), client.close
    raw = str(config.get("access_key") or "").strip()
    secret = FunctionAuth.from_access_key(raw if raw.lower().startswith("bearer ") else "Bearer " + raw).secret
    action = HttpActionClient(
        mutation_config.http_action_url or "",
        secret,
        client_id,
        logger,
        retry=settings.retry,
        max_connections=connections,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
    )
    return action.post, action.close


def check(config: Mapping[str, Any], client_id: str, logger: logging.Logger, retry: RetryPolicy) -> str | None:
    """None when the function accepts an empty call; else what is wrong."""
    try:
        mutation_config = parse_config(config)
        send, close = _sender(config, mutation_config, client_id, logger, retry, 1)
    except (ConvexError, ConfigurationError) as err:
        return str(err)
    try:
        send(
            orjson.dumps(
                {
                    "stream": "_airbyte_check",
                    "namespace": None,
                    "syncMode": "append",
                    "primaryKey": None,
                    "batchId": f"check-{uuid.uuid4().hex}",
                    "records": [],
                }
            )
        )
    except ConvexError as err:
        return f"Could not call {mutation_config.target} with an empty batch: {err}"
    finally:
        close()
    logger.info(f"{mutation_config.target} accepted an empty batch.")
    return None


def write(
    config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog, source: Any, client_id: str, logger: logging.Logger
) -> Iterator[dict[str, Any]]:
    mutation_config = parse_config(config)
    options = WriterOptions.from_config(config)
    options = replace(options, max_batch_bytes=min(options.max_batch_bytes, MAX_CALL_BYTES))
    plans = plan_catalog(catalog)
    _refuse_overwrite(plans)
    key_paths = {(c.stream.namespace, c.stream.name): c.primary_key or None for c in catalog.streams}
    send, close = _sender(config, mutation_config, client_id, logger, None, options.max_parallel_requests)
    try:
        for plan in plans:
            logger.info(
                f"Stream '{plan.label}' is sent to {mutation_config.target} ({plan.mode.value}, at most "
                f"{mutation_config.max_records_per_call} records and "
                f"{options.max_batch_bytes / MIB:g} MiB per call)."
            )
        writer = MutationWriter(
            send, mutation_config.target, plans, key_paths, options, mutation_config.max_records_per_call, logger
        )
        yield from writer.run(source)
    finally:
        close()


def _refuse_overwrite(plans: list[StreamPlan]) -> None:
    for plan in plans:
        if plan.mode is WriteMode.OVERWRITE or plan.truncate:
            raise ConfigurationError(
                f"Stream '{plan.label}' asks to replace the table (overwrite or a truncate refresh), which mutation "
                "mode cannot do: the connector would have to delete through your function between calls. Sync it "
                "in Append or Append + Deduped (your function receives syncMode and primaryKey), or use the "
                "streaming-import mode (leave mutation and http_action_url empty)."
            )

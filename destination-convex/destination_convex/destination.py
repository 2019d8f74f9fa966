"""DestinationConvex: the Airbyte entry points, wiring a client, setup, writer and states.

`check` proves the deployment answers, the key belongs to it and may import, by asking
`primary_key_indexes_ready` about no tables (an import-permission route that writes nothing);
`GET /version` needs no key at all and proves nothing.

`write` plans every stream (refusing bad catalogs before touching data), runs the setup
(clears, indexes), logs where each stream lands, then streams stdin through the `Writer`.
STATE messages go out as the dicts they came in as (plus `destinationStats`), which is why
`run` prints dicts itself instead of round-tripping them through the CDK's models.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.logger import init_logger
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    Status,
)

from convex_shared import CHECK_RETRY, IMPORT_CLIENT, ConnectionSettings, ConvexClient, ConvexError, client_id
from convex_shared.airbyte import record_dict, to_trace

from . import mutation_mode
from .errors import DestinationError
from .input import IterableSource, StdinReader
from .memory import pin_mmap_threshold
from .options import WriterOptions
from .plan import describe_plan, plan_catalog
from .preparation import prepare_tables
from .writer import MessageSource, Writer

# The CDK's own log set-up (LOG messages, secrets masked), done here rather than left to the CDK package's
# `__init__`, which the console script skips (convex_shared.cdk_import) and which did it by importing
# airbyte_cdk.entrypoint.
logger = init_logger("airbyte")

#: The distribution (wheel) name, in Airbyte's `airbyte-<connector>` PyPI naming.
DISTRIBUTION = "airbyte-destination-convex"


class DestinationConvex(Destination):
    """Imports Airbyte streams into Convex tables (overwrite, append, append + dedup)."""

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        if mutation_mode.configured(config):
            problem = mutation_mode.check(config, client_id(IMPORT_CLIENT, DISTRIBUTION), logger, CHECK_RETRY)
            return AirbyteConnectionStatus(status=Status.FAILED if problem else Status.SUCCEEDED, message=problem)
        try:
            settings = ConnectionSettings.from_config(config).for_check(CHECK_RETRY)
            WriterOptions.from_config(config)
        except (ConvexError, DestinationError) as err:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(err))
        with _client(settings, logger) as client:
            try:
                client.primary_key_indexes_ready([])
            except ConvexError as err:
                return AirbyteConnectionStatus(
                    status=Status.FAILED,
                    message=f"Could not confirm that this key may import into {settings.host}: {err}",
                )
        logger.info(f"Connected to {settings.host}; the key may import data.")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        """The CDK's interface, for callers holding parsed messages (the CLI uses `_run_write`)."""
        source = IterableSource(_as_dict(message) for message in input_messages)
        for state in self._write(config, configured_catalog, source):
            yield AirbyteMessageSerializer.load(state)

    def _run_write(  # type: ignore[override]
        self,
        config: Mapping[str, Any],
        configured_catalog_path: str,
        input_stream: Any,
    ) -> Iterator[dict[str, Any]]:
        with open(configured_catalog_path, "rb") as catalog_file:
            catalog = ConfiguredAirbyteCatalogSerializer.load(orjson.loads(catalog_file.read()))
        logger.info("Begin writing to the destination...")
        pin_mmap_threshold()
        reader = StdinReader(sys.stdin.fileno(), logger)
        yield from self._write(config, catalog, reader)
        if reader.decoder.skipped:
            logger.warning(f"Skipped {reader.decoder.skipped} undecodable input lines in total.")
        logger.info("Writing complete.")

    def run(self, args: list[str]) -> None:
        """As the CDK's `run`, but STATE dicts are printed as they are, with every field kept."""
        init_uncaught_exception_handler(logger)
        parsed_args = self.parse_args(args)
        for message in self.run_cmd(parsed_args):
            payload = message if isinstance(message, dict) else AirbyteMessageSerializer.dump(message)
            # One write per line: `print` writes the text and its newline separately, and a worker
            # thread's log line (the CDK's handler writes whole lines to the same stdout) could land
            # between them, joining two messages on one line.
            sys.stdout.write(orjson.dumps(payload).decode() + "\n")
            sys.stdout.flush()

    def _write(
        self, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog, source: MessageSource
    ) -> Iterator[dict[str, Any]]:
        try:
            if mutation_mode.configured(config):
                yield from mutation_mode.write(config, catalog, source, client_id(IMPORT_CLIENT, DISTRIBUTION), logger)
                return
            settings = ConnectionSettings.from_config(config)
            options = WriterOptions.from_config(config)
            plans = plan_catalog(catalog)
            with _client(settings, logger, connections=options.max_parallel_requests) as client:
                prepare_tables(client, plans, index_ready_timeout_s=options.index_ready_timeout_s, logger=logger)
                for plan in plans:
                    logger.info(describe_plan(plan, store_airbyte_metadata=options.store_airbyte_metadata))
                yield from Writer(client, plans, options, logger).run(source)
        except DestinationError as err:
            raise to_trace(err) from None
        except ConvexError as err:
            raise to_trace(err, "Writing to Convex") from None


def _as_dict(message: AirbyteMessage) -> dict[str, Any]:
    """A parsed message as the dict the writer reads; records keep their top-level nulls (a null is data)."""
    record = message.record
    if record is None:
        return AirbyteMessageSerializer.dump(message)  # type: ignore[no-any-return]
    return record_dict(record)


def _client(settings: ConnectionSettings, log: logging.Logger, connections: int = 1) -> ConvexClient:
    # The writer's parallel requests share this client's session: one pooled connection each.
    return ConvexClient.open(settings, IMPORT_CLIENT, DISTRIBUTION, log, max_connections=connections)

"""SourceConvex: the thin entry class wiring config, client, discoverer and read.

- `check` proves the key may export from this deployment (`test_streaming_export_connection`,
  falling back to `json_schemas` on backends without that route) and answers every failure,
  config mistakes included, with a FAILED status carrying the shared client's explanation.
- `discover` offers one stream per selected table (see `catalog`).
- `read` is orchestrated across streams (see `read`): one snapshot, one change-log walk.
Every Convex failure crosses this boundary as an AirbyteTracedException (`traced`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    Status,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

from convex_shared import (
    CHECK_RETRY,
    EXPORT_CLIENT,
    ConvexClient,
    ConvexError,
    ConvexRequestError,
    RetryPolicy,
    client_id,
)
from convex_shared.airbyte import to_trace
from convex_shared.errors import ConnectorError, step

from . import query_functions, query_functions_source
from .cadence import Cadence
from .catalog import ConvexStream, Discoverer
from .config import SourceConfig, TableRef
from .messages import Emitted, as_messages
from .read import ReadOrchestrator
from .state import input_states
from .table_schemas import REFUSED_CODES, deployment_schemas

#: The distribution (wheel) name: Airbyte's own PyPI name for this connector, which 0.4.x used.
DIST_NAME = "airbyte-source-convex"


class SourceConvex(AbstractSource):
    """Airbyte source for Convex."""

    def __init__(self, cadence: Cadence = Cadence(), retry: RetryPolicy | None = None) -> None:
        # `cadence`: how often state and progress go out; `retry`: the shared client's retry
        # policy for reads (None = its default). Both are knobs for tests and benchmarks.
        self._cadence = cadence
        self._retry = retry

    # -- wiring ---------------------------------------------------------------------------

    def _config(self, config: Mapping[str, Any]) -> SourceConfig:
        try:
            return SourceConfig.from_config(config, retry=self._retry)
        except ConvexError as err:
            raise to_trace(err, "Reading the source configuration") from None

    @staticmethod
    def _client(source_config: SourceConfig, logger: logging.Logger) -> ConvexClient:
        # One pooled connection per table read at once (parallel snapshots), never fewer than the default.
        return ConvexClient.open(
            source_config.connection,
            EXPORT_CLIENT,
            DIST_NAME,
            logger,
            max_connections=max(4, source_config.parallel_snapshots),
        )

    # -- check ----------------------------------------------------------------------------

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """SUCCEEDED, or FAILED with what is wrong and what to do (never a traceback)."""
        ok, message = self.check_connection(logger, config)
        if ok:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=message)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> tuple[bool, str | None]:
        if query_functions.configured(config):
            return query_functions_source.check(config, client_id(EXPORT_CLIENT, DIST_NAME), logger, CHECK_RETRY)
        try:
            source_config = SourceConfig.from_config(config)
            source_config = dataclasses.replace(
                source_config, connection=source_config.connection.for_check(CHECK_RETRY)
            )
            with self._client(source_config, logger) as client:
                self._prove_export(client, logger)
                if source_config.tables is not None:
                    discoverer = Discoverer(client, source_config, logger)
                    schemas = discoverer.convex_schemas()
                    missing = discoverer.missing_tables(schemas)
                    if missing:
                        return False, discoverer.missing_message(missing, schemas)
        except ConvexError as err:
            return False, str(err)
        return True, None

    @staticmethod
    def _prove_export(client: ConvexClient, logger: logging.Logger) -> None:
        try:
            client.test_streaming_export_connection()
        except ConvexError as err:
            if err.status != 404:
                raise
            # Backends older than the test route: json_schemas needs the same permission.
            logger.info(
                "This Convex backend has no test_streaming_export_connection route; checking with json_schemas instead."
            )
            try:
                client.json_schemas()
            except ConvexRequestError as refused:
                # Refusing to describe a table comes after the key and the plan were accepted (discover
                # and read fall back to column names then, see table_schemas).
                if refused.code not in REFUSED_CODES:
                    raise

    # -- discover -------------------------------------------------------------------------

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        """One stream per offered table (the client is closed once the tables are listed)."""
        if query_functions.configured(config):
            return query_functions_source.discover(config, client_id(EXPORT_CLIENT, DIST_NAME), logger)
        source_config = self._config(config)
        with self._client(source_config, logger) as client:
            streams = self._streams(client, source_config, logger)
            return AirbyteCatalog(streams=[stream.as_airbyte_stream() for stream in streams])

    def streams(self, config: Mapping[str, Any]) -> list[Stream]:
        """The CDK's view. `read_records` of each goes through the one reader (a full-refresh read of
        that stream), so it has every guard a sync has."""
        logger = logging.getLogger("airbyte")
        source_config = self._config(config)
        client = self._client(source_config, logger)  # kept open: the streams read with it
        try:
            with step("Listing the tables of the deployment"):
                discoverer = Discoverer(client, source_config, logger)
                schemas = discoverer.convex_schemas()
                tables = discoverer.tables(schemas)
        except ConnectorError as err:
            client.close()
            raise to_trace(err) from None
        except BaseException:
            client.close()
            raise

        def read_one(catalog: ConfiguredAirbyteCatalog) -> Iterator[AirbyteMessage]:
            yield from as_messages(self._read(client, lambda: schemas, source_config, logger, catalog, None))

        return [ConvexStream(table, read_one) for table in tables]

    @staticmethod
    def _streams(client: ConvexClient, source_config: SourceConfig, logger: logging.Logger) -> list[ConvexStream]:
        """Declarations only (for discover): the tables are listed once."""
        try:
            with step("Listing the tables of the deployment"):
                discoverer = Discoverer(client, source_config, logger)
                tables = discoverer.tables(discoverer.convex_schemas())
        except ConnectorError as err:
            raise to_trace(err) from None
        return [ConvexStream(table, None) for table in tables]

    # -- read -----------------------------------------------------------------------------

    @classmethod
    def read_state(cls, state_path: str) -> list[AirbyteStateMessage]:
        """Per-stream state; the legacy one-object form is converted, any other shape refused
        (see state.input_states)."""
        return input_states(cls._read_json_file(state_path)) if state_path else []

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        """Every message of the read, one RECORD message per document (the CDK's interface)."""
        return as_messages(self.read_batched(logger, config, catalog, state))

    def read_batched(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[Emitted]:
        """`read` with records a page at a time (`RecordBatch`), for the console entry point to write
        without a protocol object per document (see `messages`)."""
        if query_functions.configured(config):
            yield from query_functions_source.read(config, client_id(EXPORT_CLIENT, DIST_NAME), logger, catalog, state)
            return
        source_config = self._config(config)
        with self._client(source_config, logger) as client:
            yield from self._read(
                client,
                lambda: deployment_schemas(client, logger, find_refused=False),
                source_config,
                logger,
                catalog,
                state,
            )
            logger.info("Sent %d requests to Convex.", client.request_count)

    def _read(
        self,
        client: ConvexClient,
        list_tables: Callable[[], Mapping[TableRef, Mapping[str, Any]]],
        source_config: SourceConfig,
        logger: logging.Logger,
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None,
    ) -> Iterator[Emitted]:
        """The one read path (a sync, or one CDK stream's `read_records`)."""
        orchestrator = ReadOrchestrator(
            client,
            list_tables,
            source_config.on_expired_position,
            logger,
            self._cadence,
            source_config.parallel_snapshots,
        )
        try:
            yield from orchestrator.read(catalog, state)
        except ConnectorError as err:
            raise to_trace(err) from None

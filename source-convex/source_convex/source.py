"""SourceConvex: the thin entry class wiring config, client, discoverer and read.

- `check` proves the key may export from this deployment (`test_streaming_export_connection`,
  falling back to `json_schemas` on backends without that route) and answers every failure,
  config mistakes included, with a FAILED status carrying the shared client's explanation.
- `discover` offers one stream per selected table (see `discover`, `schema`).
- `read` is orchestrated across streams (see `read`): one snapshot, one change-log walk.
Every Convex failure crosses this boundary as an AirbyteTracedException (`traced`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterator, List, Mapping, Optional, Tuple

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
from convex_shared import EXPORT_CLIENT, ConvexClient, ConvexError, ConvexRequestError, RetryPolicy, client_id
from convex_shared.airbyte import traced

from . import query_functions, query_functions_source, state_input
from .cadence import Cadence
from .config import SourceConfig
from .discover import Discoverer
from .pages import PageReader
from .read import ReadOrchestrator
from .streams import ConvexStream
from .table_schemas import REFUSED_CODES

#: The distribution (wheel) name: Airbyte's own PyPI name for this connector, which 0.4.x used.
DIST_NAME = "airbyte-source-convex"

#: A check answers while the user waits in the UI: one quick retry, not a sync's patience.
CHECK_RETRY = RetryPolicy(max_attempts=2, initial_delay_s=0.5, max_total_s=10.0)


class SourceConvex(AbstractSource):
    """Airbyte source for Convex."""

    def __init__(self, cadence: Cadence = Cadence(), retry: Optional[RetryPolicy] = None) -> None:
        # `cadence`: how often state and progress go out; `retry`: the shared client's retry
        # policy for reads (None = its default). Both are knobs for tests and benchmarks.
        self._cadence = cadence
        self._retry = retry

    # -- wiring ---------------------------------------------------------------------------

    def _config(self, config: Mapping[str, Any]) -> SourceConfig:
        try:
            return SourceConfig.from_config(config, retry=self._retry)
        except ConvexError as err:
            raise traced(err, "Reading the source configuration") from None

    @staticmethod
    def _client(source_config: SourceConfig, logger: logging.Logger) -> ConvexClient:
        # One pooled connection per table read at once (parallel snapshots), never fewer than the default.
        return ConvexClient(source_config.connection, client_id(EXPORT_CLIENT, DIST_NAME), logger,
                            max_connections=max(4, source_config.parallel_snapshots))

    # -- check ----------------------------------------------------------------------------

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """SUCCEEDED, or FAILED with what is wrong and what to do (never a traceback)."""
        ok, message = self.check_connection(logger, config)
        if ok:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=message)

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[str]]:
        if query_functions.configured(config):
            return query_functions_source.check(config, client_id(EXPORT_CLIENT, DIST_NAME), logger, CHECK_RETRY)
        try:
            source_config = SourceConfig.from_config(config)
            source_config = dataclasses.replace(source_config,
                                                connection=source_config.connection.for_check(CHECK_RETRY))
            with self._client(source_config, logger) as client:
                self._prove_export(client, logger)
                if source_config.tables is not None:
                    discoverer = Discoverer(client, source_config, logger)
                    missing = discoverer.missing_tables(discoverer.convex_schemas())
                    if missing:
                        return False, discoverer.missing_message(missing)
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
            logger.info("This Convex backend has no test_streaming_export_connection route; checking with "
                        "json_schemas instead.")
            try:
                client.json_schemas(delta_schema=True, by_component=True, fmt="json")
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

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        """The CDK's view: streams that can also be read one by one (full snapshots)."""
        logger = logging.getLogger("airbyte")
        source_config = self._config(config)
        client = self._client(source_config, logger)  # kept open: the streams read with it
        try:
            return list(self._streams(client, source_config, logger))
        except BaseException:
            client.close()
            raise

    @staticmethod
    def _streams(client: ConvexClient, source_config: SourceConfig, logger: logging.Logger) -> List[ConvexStream]:
        try:
            tables = Discoverer(client, source_config, logger).tables()
        except ConvexError as err:
            raise traced(err, "Listing the tables of the deployment") from None
        reader = PageReader(client, {t.table: t.convex_schema for t in tables}, logger)
        return [ConvexStream(table, reader) for table in tables]

    # -- read -----------------------------------------------------------------------------

    @classmethod
    def read_state(cls, state_path: str) -> List[AirbyteStateMessage]:
        """Per-stream state; the legacy one-object form is converted, any other shape refused (see state_input)."""
        return state_input.parse(cls._read_json_file(state_path)) if state_path else []

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> Iterator[AirbyteMessage]:
        if query_functions.configured(config):
            yield from query_functions_source.read(config, client_id(EXPORT_CLIENT, DIST_NAME), logger, catalog, state)
            return
        source_config = self._config(config)
        with self._client(source_config, logger) as client:
            orchestrator = ReadOrchestrator(client, source_config.on_expired_position, logger, self._cadence,
                                            source_config.parallel_snapshots)
            yield from orchestrator.read(catalog, state)
            logger.info("Sent %d requests to Convex.", client.request_count)

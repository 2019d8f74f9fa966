"""Which tables the deployment has, and their stream schemas.

One request: `GET /api/json_schemas?deltaSchema=true&format=json&byComponent=true`, which
answers `{"<component path>": {"<table>": <schema>}}` with `""` for the app's own tables
(when Convex refuses to describe the deployment, see `table_schemas` for the fallback).
The user's `tables` / `include_components` choice then picks the tables offered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from convex_shared import ConvexClient

from .config import SourceConfig
from .schema import to_airbyte_schema
from .table_schemas import deployment_schemas
from .tables import TableRef


@dataclass(frozen=True)
class DiscoveredTable:
    """One table offered as a stream: its Convex schema and its Airbyte schema."""

    table: TableRef
    convex_schema: Mapping[str, Any]
    airbyte_schema: Mapping[str, Any]


class Discoverer:
    """Lists the tables a config offers."""

    def __init__(self, client: ConvexClient, config: SourceConfig, logger: logging.Logger) -> None:
        self._client = client
        self._config = config
        self._logger = logger

    def convex_schemas(self) -> dict[TableRef, Mapping[str, Any]]:
        """Every table of the deployment (whatever the config selects) with its Convex schema."""
        return deployment_schemas(self._client, self._logger)

    def missing_tables(self, schemas: Mapping[TableRef, Any]) -> list[TableRef]:
        """Tables named in the config that the deployment does not have."""
        return sorted((self._config.tables or frozenset()) - set(schemas))

    def tables(self) -> list[DiscoveredTable]:
        """The offered tables, app tables first, each group by name."""
        schemas = self.convex_schemas()
        for missing in self.missing_tables(schemas):
            self._logger.warning("The tables setting names %s, which this deployment does not have; skipping it.",
                                 missing)
        return [
            DiscoveredTable(ref, schema, to_airbyte_schema(schema))
            for ref, schema in sorted(schemas.items(), key=lambda item: (item[0].component != "", item[0]))
            if self._config.wants(ref)
        ]

"""Which tables the deployment has, and their stream schemas.

One request: `GET /api/json_schemas?deltaSchema=true&format=json&byComponent=true`, which
answers `{"<component path>": {"<table>": <schema>}}` with `""` for the app's own tables
(when Convex refuses to describe the deployment, see `table_schemas` for the fallback).
The user's `tables` / `include_components` choice then picks the tables offered; a `tables`
setting none of whose names exists is a config error with the closest names ("did you mean").
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any, Mapping

from convex_shared import ConvexClient, ConvexConfigError

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

    def missing_message(self, missing: list[TableRef], schemas: Mapping[TableRef, Any]) -> str:
        """What the user must fix about `missing` tables, with the closest real names."""
        known = [str(table) for table in schemas]
        named = []
        for table in missing:
            close = difflib.get_close_matches(str(table), known, n=1, cutoff=0.6)
            named.append(f"{table} (did you mean {close[0]}?)" if close else str(table))
        return (f"The tables setting names tables this deployment does not have: {', '.join(named)}. Fix the names "
                "(they are case-sensitive; a component table is written <component>/<table>) or leave the setting "
                "empty to sync every table.")

    def tables(self, schemas: Mapping[TableRef, Mapping[str, Any]]) -> list[DiscoveredTable]:
        """The offered tables of `schemas` (`convex_schemas()`), app tables first, each group by name.

        Raises ConvexConfigError when the tables setting names tables and none of them exists: an
        empty catalog would look like success and sync nothing."""
        missing = self.missing_tables(schemas)
        if missing and len(missing) == len(self._config.tables or ()):
            raise ConvexConfigError(self.missing_message(missing, schemas))
        for table in missing:
            self._logger.warning("%s Skipping it.", self.missing_message([table], schemas))
        return [
            DiscoveredTable(ref, schema, to_airbyte_schema(schema))
            for ref, schema in sorted(schemas.items(), key=lambda item: (item[0].component != "", item[0]))
            if self._config.wants(ref)
        ]

"""The source's configuration: the connection (read by the shared client) plus its own
optional fields, each normalised once with a clear error for every mistake.

Airbyte validates a config against the spec but fills in no defaults, so the defaults
live here (and match spec.json). Errors are ConvexConfigError, which the connector
boundary turns into a config_error (or a FAILED connection status during `check`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from convex_shared import ConnectionSettings, ConvexConfigError, RetryPolicy

from .tables import TableRef

#: Tables whose snapshots are read at once, by default and at most (each has one request in flight).
DEFAULT_PARALLEL_SNAPSHOTS = 4
MAX_PARALLEL_SNAPSHOTS = 16


class OnExpiredPosition(enum.Enum):
    """What to do when a saved change-log position is older than Convex's retention."""

    FAIL = "fail"
    RESYNC = "resync"


@dataclass(frozen=True)
class SourceConfig:
    """Everything a check, discover or read needs from the user's config."""

    connection: ConnectionSettings
    tables: Optional[frozenset[TableRef]]  # None = every table
    include_components: bool
    on_expired_position: OnExpiredPosition
    parallel_snapshots: int = DEFAULT_PARALLEL_SNAPSHOTS  # tables snapshotted at once

    @classmethod
    def from_config(cls, config: Mapping[str, Any], retry: Optional[RetryPolicy] = None) -> "SourceConfig":
        """Read and normalise a connector config; raise ConvexConfigError on any mistake.

        `retry` overrides the shared client's default policy (check uses a short one).
        """
        return cls(
            connection=ConnectionSettings.from_config(config, retry=retry),
            tables=_tables(config.get("tables")),
            include_components=_boolean(config, "include_components", True),
            on_expired_position=_on_expired(config.get("on_expired_position")),
            parallel_snapshots=_parallel_snapshots(config.get("parallel_snapshots")),
        )

    def wants(self, table: TableRef) -> bool:
        """Whether the user's table selection offers this table as a stream."""
        if self.tables is not None:
            return table in self.tables
        return self.include_components or table.is_root


def _tables(raw: Any) -> Optional[frozenset[TableRef]]:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise ConvexConfigError(f"tables must be a list of table names, not {type(raw).__name__}.")
    refs = set()
    for item in raw:
        if not isinstance(item, str) or not item.strip():
            raise ConvexConfigError(f"tables must hold table names, but it holds {item!r}.")
        refs.add(TableRef.parse(item.strip()))
    return frozenset(refs)


def _boolean(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = config.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConvexConfigError(f"{name} must be true or false, not {value!r}.")
    return value


def _on_expired(raw: Any) -> OnExpiredPosition:
    if raw is None:
        return OnExpiredPosition.FAIL
    try:
        return OnExpiredPosition(raw)
    except ValueError:
        choices = ", ".join(repr(choice.value) for choice in OnExpiredPosition)
        raise ConvexConfigError(f"on_expired_position must be one of {choices}, not {raw!r}.") from None


def _parallel_snapshots(raw: Any) -> int:
    if raw is None:
        return DEFAULT_PARALLEL_SNAPSHOTS
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a UI or a JSON tool that writes every number as a float
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_PARALLEL_SNAPSHOTS:
        raise ConvexConfigError(
            f"parallel_snapshots must be a whole number from 1 to {MAX_PARALLEL_SNAPSHOTS} (how many tables are "
            f"read at once; 1 reads them one after another), not {raw!r}.")
    return raw

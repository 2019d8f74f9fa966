"""The source's configuration: the connection (read by the shared client) plus its own
optional fields, each normalised once with a clear error for every mistake.

Airbyte validates a config against the spec but fills in no defaults, so the defaults
live here (and match spec.json). Errors are ConvexConfigError, which the connector
boundary turns into a config_error (or a FAILED connection status during `check`).

## Tables as streams

Naming of Convex tables as Airbyte streams.

A table lives in a component: the app itself (path `""`) or an installed component
(`waitlist`, or nested `waitlist/ratelimiter`). Root tables become streams named after
the table with no namespace, as the incumbent named them; a component's tables get the
component path as their stream namespace, so same-named tables of different components
never collide. In the `tables` config field a component table is written
`<component path>/<table>`: table names cannot contain `/`, so the last segment is the table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convex_shared import ConnectionSettings, ConvexConfigError, RetryPolicy
from convex_shared.config import read_flag


@dataclass(frozen=True, order=True)
class TableRef:
    """One table: its component path (`""` for the app) and its name."""

    component: str
    name: str

    @property
    def is_root(self) -> bool:
        return self.component == ""

    @property
    def namespace(self) -> str | None:
        """The Airbyte stream namespace: the component path, or None for the app's tables."""
        return self.component or None

    @classmethod
    def of_stream(cls, name: str, namespace: str | None) -> TableRef:
        """The table a stream (name + namespace) reads."""
        return cls(component=namespace or "", name=name)

    @classmethod
    def parse(cls, text: str) -> TableRef:
        """`users` -> app table; `waitlist/entries` -> table `entries` of component `waitlist`."""
        component, _, name = text.rpartition("/")
        return cls(component=component.strip("/"), name=name)

    def __str__(self) -> str:
        return f"{self.component}/{self.name}" if self.component else self.name


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
    tables: frozenset[TableRef] | None  # None = every table
    include_components: bool
    on_expired_position: OnExpiredPosition
    parallel_snapshots: int = DEFAULT_PARALLEL_SNAPSHOTS  # tables snapshotted at once

    @classmethod
    def from_config(cls, config: Mapping[str, Any], retry: RetryPolicy | None = None) -> SourceConfig:
        """Read and normalise a connector config; raise ConvexConfigError on any mistake.

        `retry` overrides the shared client's default policy (check uses a short one).
        """
        return cls(
            connection=ConnectionSettings.from_config(config, retry=retry),
            tables=_tables(config.get("tables")),
            include_components=read_flag(config, "include_components", True),
            on_expired_position=_on_expired(config.get("on_expired_position")),
            parallel_snapshots=_parallel_snapshots(config.get("parallel_snapshots")),
        )

    def wants(self, table: TableRef) -> bool:
        """Whether the user's table selection offers this table as a stream."""
        if self.tables is not None:
            return table in self.tables
        return self.include_components or table.is_root


def _tables(raw: Any) -> frozenset[TableRef] | None:
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
            f"read at once; 1 reads them one after another), not {raw!r}."
        )
    return raw

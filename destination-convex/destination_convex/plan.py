"""What to do with each configured stream: its table, write mode, key and setup steps.

Built once from the configured catalog before any request, so every mistake the catalog can
hold (an unsupported sync mode, a dedup stream without a key, two streams landing in the same
table) fails the sync up front with a config error, before anything is cleared or written.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, DestinationSyncMode

from .errors import ConfigurationError
from .fields import FieldMapping
from .tables import NamingError, declared_fields, describe_stream, primary_key_paths, table_name

#: Renamed fields listed per stream in the setup log; the rest are counted.
LOGGED_RENAMES = 20

StreamKey = tuple[str | None, str]
"""(namespace, name): how records and STREAM states name their stream."""


class WriteMode(enum.Enum):
    """How records reach the table: plain inserts, or upserts/deletes by primary key."""

    APPEND = "append"
    OVERWRITE = "overwrite"
    DEDUP = "append_dedup"


@dataclass(frozen=True)
class StreamPlan:
    """One configured stream, resolved to what the destination sends Convex."""

    namespace: str | None
    name: str
    table: str
    mode: WriteMode
    #: Stored field paths of the primary key (dedup only; None means plain inserts).
    primary_key: tuple[tuple[str, ...], ...] | None
    json_schema: Mapping[str, Any]
    #: Replace the table's documents once the stream is complete: overwrite, or a truncate refresh.
    truncate: bool
    generation_id: int | None
    #: The stream's top-level names as stored, applied by the destination to every record.
    fields: FieldMapping

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        """Top-level fields stored under another name, (source name, stored name)."""
        return tuple(self.fields.renamed)

    @property
    def key(self) -> StreamKey:
        return (self.namespace, self.name)

    @property
    def label(self) -> str:
        """The stream as users know it, for messages."""
        return describe_stream(self.namespace, self.name)

    @property
    def idempotent(self) -> bool:
        """A dedup import replaces by key, so retrying it cannot duplicate documents."""
        return self.mode is WriteMode.DEDUP


_MODES = {
    DestinationSyncMode.append: WriteMode.APPEND,
    DestinationSyncMode.overwrite: WriteMode.OVERWRITE,
    DestinationSyncMode.append_dedup: WriteMode.DEDUP,
}


def is_truncate_refresh(generation_id: int | None, minimum_generation_id: int | None) -> bool:
    """A refresh that must drop earlier generations: both ids set, equal, and above zero.

    A first-generation append sync also arrives with both ids 0; treating that as a truncate
    would wipe the table on every normal sync (Airbyte's own CDK also requires `> 0`).
    """
    return (
        generation_id is not None
        and minimum_generation_id is not None
        and minimum_generation_id == generation_id
        and minimum_generation_id > 0
    )


def plan_stream(configured: ConfiguredAirbyteStream) -> StreamPlan:
    """Resolve one configured stream; raises ConfigurationError naming it."""
    stream = configured.stream
    label = describe_stream(stream.namespace, stream.name)
    mode = _MODES.get(configured.destination_sync_mode)
    if mode is None:
        raise ConfigurationError(
            f"Stream '{label}' uses the destination sync mode '{configured.destination_sync_mode.value}', which "
            "Convex does not support. Choose Overwrite, Append, or Append + Deduped for it."
        )
    json_schema = stream.json_schema if isinstance(stream.json_schema, Mapping) else {}
    try:
        table = table_name(stream.namespace, stream.name)
        fields = FieldMapping(declared_fields(json_schema))
        key = None
        if mode is WriteMode.DEDUP:
            key = tuple(
                tuple(path) for path in primary_key_paths(label, configured.primary_key or [], json_schema, fields)
            )
    except NamingError as err:
        raise ConfigurationError(str(err)) from None
    except ValueError as err:  # a declared field without a storable name
        raise ConfigurationError(f"Stream '{label}': {err}. Rename the field at the source or deselect it.") from None
    return StreamPlan(
        namespace=stream.namespace,
        name=stream.name,
        table=table,
        mode=mode,
        primary_key=key,
        json_schema=json_schema,
        truncate=mode is WriteMode.OVERWRITE
        or is_truncate_refresh(configured.generation_id, configured.minimum_generation_id),
        generation_id=configured.generation_id,
        fields=fields,
    )


def plan_catalog(catalog: ConfiguredAirbyteCatalog) -> list[StreamPlan]:
    """Every stream's plan, refusing two streams that would share one Convex table."""
    plans = [plan_stream(configured) for configured in catalog.streams]
    by_table: dict[str, StreamPlan] = {}
    for plan in plans:
        other = by_table.setdefault(plan.table, plan)
        if other is not plan:
            raise ConfigurationError(
                f"Streams '{other.label}' and '{plan.label}' would both be stored in the Convex table '{plan.table}'. "
                "Give one of them another name or namespace (for example with a stream prefix), or sync only one."
            )
    return plans


def plans_by_stream(plans: Sequence[StreamPlan]) -> dict[StreamKey, StreamPlan]:
    """Lookup from a record's (namespace, stream) to its plan."""
    return {plan.key: plan for plan in plans}


def describe_plan(plan: StreamPlan, *, store_airbyte_metadata: bool = False) -> str:
    """The one setup log line per stream: where it lands and what users should know."""
    mode = plan.mode.value
    if plan.mode is WriteMode.DEDUP and plan.primary_key:
        mode += " on " + ", ".join(".".join(path) for path in plan.primary_key)
    if plan.truncate:
        mode += (
            ", old documents replaced once the stream is complete"
            if plan.mode is WriteMode.OVERWRITE
            else ", truncate refresh: old documents replaced once the stream is complete"
        )
    line = f"Stream '{plan.label}' is written to the Convex table '{plan.table}' ({mode})."
    renames = [f"{source} -> {stored}" for source, stored in plan.renames if not source.startswith("_ab_cdc")]
    if renames:
        shown = ", ".join(renames[:LOGGED_RENAMES])
        more = f" and {len(renames) - LOGGED_RENAMES} more" if len(renames) > LOGGED_RENAMES else ""
        line += (
            f" These fields are stored under other names in every record: {shown}{more} (nested fields follow "
            "Convex's rule)."
        )
    if any(source.startswith("_ab_cdc") for source, _ in plan.renames):
        line += " The CDC fields (_ab_cdc_*) are not stored"
        line += (
            "; deleted records delete their document."
            if plan.mode is WriteMode.DEDUP
            else ("; deleted records are inserted like any other record.")
        )
    if store_airbyte_metadata:
        line += (
            " Airbyte metadata is stored as source_airbyte_raw_id, source_airbyte_extracted_at and "
            "source_airbyte_generation_id."
        )
    return line

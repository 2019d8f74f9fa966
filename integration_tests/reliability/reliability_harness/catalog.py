"""Configured catalogs, built as the platform builds them: from the source's own discover.

Discover runs in-process through the CDK's test entrypoint (it is the source's real code; only
the process is shared, which saves a second of interpreter start per scenario).
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Optional

from airbyte_cdk.models.airbyte_protocol_serializers import AirbyteStreamSerializer
from airbyte_cdk.test.entrypoint_wrapper import discover
from source_convex.source import SourceConvex

#: The CDK's test entrypoint adjusts process-wide logging while it runs: one at a time.
_DISCOVER = threading.Lock()


def discovered_streams(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The source's discovered streams (AirbyteStream dicts), or AssertionError on failure."""
    with _DISCOVER:
        output = discover(SourceConvex(), config)
    if output.errors:
        raise AssertionError(f"discover failed: {output.errors[0].trace.error.message}")
    return [AirbyteStreamSerializer.dump(stream) for stream in output.catalog.catalog.streams]


def configured_catalog(
    streams: Iterable[dict[str, Any]], *, destination_sync_mode: str = "append_dedup",
    sync_mode: str = "incremental", only: Optional[set[str]] = None,
) -> dict[str, Any]:
    """Every stream (or those named in `only`) incremental, keyed on the source's primary key."""
    configured = []
    for stream in streams:
        if only is not None and stream["name"] not in only:
            continue
        entry: dict[str, Any] = {
            "stream": stream,
            "sync_mode": sync_mode,
            "destination_sync_mode": destination_sync_mode,
            "primary_key": stream.get("source_defined_primary_key") or [["_id"]],
        }
        if sync_mode == "incremental":
            entry["cursor_field"] = stream.get("default_cursor_field") or ["_ts"]
        configured.append(entry)
    return {"streams": configured}


def connection_config(url: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"deployment_url": url, "access_key": key, **extra}

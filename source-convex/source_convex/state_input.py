"""Saved state as it may arrive: per-stream messages, or the legacy whole-connector blob.

The platform hands a source a list of per-stream (STREAM) state messages today. Older
platform versions, and people running the connector by hand (`docker run ... read
--state`), may still have the legacy form the incumbent's era produced: one JSON object
mapping stream names to their state, or a LEGACY message carrying it in `data`. Both are
turned into per-stream messages here, so everything downstream (the CDK's
ConnectorStateManager included) sees one shape.
"""

from __future__ import annotations

from typing import Any, List, Mapping

from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    StreamDescriptor,
)


def from_legacy_blob(blob: Mapping[str, Any]) -> List[AirbyteStateMessage]:
    """`{"users": {...}, "posts": {...}}` -> one STREAM message per stream (no namespace)."""
    return [
        AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=name),
                stream_state=AirbyteStateBlob(dict(value)),
            ),
        )
        for name, value in blob.items()
        if isinstance(value, Mapping)
    ]


def normalize(messages: List[AirbyteStateMessage]) -> List[AirbyteStateMessage]:
    """LEGACY messages expanded to STREAM messages; others kept as they are."""
    out: List[AirbyteStateMessage] = []
    for message in messages:
        if message.type in (AirbyteStateType.LEGACY, None) and message.stream is None and message.data:
            out.extend(from_legacy_blob(message.data))
        else:
            out.append(message)
    return out

"""Saved state as it may arrive: per-stream messages, or the legacy whole-connector blob.

The platform hands a source a list of per-stream (STREAM) state messages today. Older
platform versions, and people running the connector by hand (`docker run ... read
--state`), may still have the legacy form the incumbent's era produced: one JSON object
mapping stream names to their state, or a LEGACY message carrying it in `data`. Both are
turned into per-stream messages here, so everything downstream (the CDK's
ConnectorStateManager included) sees one shape.

A legacy blob whose entries are not objects is no state of ours (another connector's, or
a stream's own state given as the whole file): a config error says so, where dropping the
entries would silently re-read every table.
"""

from __future__ import annotations

from typing import Any, List, Mapping

from airbyte_cdk.models import (
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    AirbyteStateType,
    AirbyteStreamState,
    FailureType,
    StreamDescriptor,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

#: What a saved state looks like, for error messages.
EXPECTED = (
    'a list of per-stream states, [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, '
    '"stream_state": {"snapshot_cursor": null, "snapshot_has_more": false, "delta_cursor": <ns>}}}], or the '
    'legacy {"users": {...}, "posts": {...}}'
)


#: Top-level keys of one AirbyteStateMessage (a file holding one message instead of a list).
_MESSAGE_KEYS = {"type", "stream", "global", "data"}


def bad_state(problem: str) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=f"The saved state is not this connector's: {problem}. Expected {EXPECTED}. Pass the state this "
        "connector emitted, or none to start over (reset the connection's state in Airbyte).",
        failure_type=FailureType.config_error,
    )


def parse(raw: Any) -> List[AirbyteStateMessage]:
    """A `--state` file's JSON as per-stream messages; a config error for any other shape."""
    if not raw:
        return []
    if isinstance(raw, Mapping):
        if not _MESSAGE_KEYS & set(raw):
            return from_legacy_blob(raw)
        raw = [raw]
    if not isinstance(raw, list):
        raise bad_state(f"it is a JSON {type(raw).__name__}, not a list of state messages")
    messages = []
    for index, item in enumerate(raw):
        try:
            message = AirbyteStateMessageSerializer.load(item) if isinstance(item, Mapping) else None
        except Exception:  # noqa: BLE001 - any failure to parse it is the same answer
            message = None
        if message is None or not (message.stream or message.data or message.global_):
            raise bad_state(f"entry {index} of the list is not a STREAM, GLOBAL or LEGACY state message")
        messages.append(message)
    return normalize(messages)


def from_legacy_blob(blob: Mapping[str, Any]) -> List[AirbyteStateMessage]:
    """`{"users": {...}, "posts": {...}}` -> one STREAM message per stream (no namespace)."""
    odd = sorted(str(name) for name, value in blob.items() if not isinstance(value, Mapping))
    if odd:
        raise bad_state(f"its entries {', '.join(odd[:5])} are not per-stream states (objects)")
    return [
        AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=name),
                stream_state=AirbyteStateBlob(dict(value)),
            ),
        )
        for name, value in blob.items()
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

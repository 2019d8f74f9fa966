"""Builders for the Airbyte messages the read emits itself: RECORD, STATE and stream status.

The read is orchestrated across streams (one snapshot, one change-log walk), so it cannot
lean on the CDK's per-stream loop to wrap records and checkpoints. These builders make the
same protocol objects the CDK makes, as cheaply as possible on the record path: one
`AirbyteRecordMessage` per document with the page's `emitted_at`, and nothing else.
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Optional

from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateBlob,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    AirbyteStreamStatus,
    AirbyteStreamStatusTraceMessage,
    AirbyteTraceMessage,
    StreamDescriptor,
    TraceType,
    Type,
)

from .cdc import add_cdc_fields
from .state import StreamState
from .tables import TableRef

_RECORD = Type.RECORD


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of `emitted_at`."""
    return int(time.time() * 1000)


def records(table: TableRef, documents: list[dict[str, Any]]) -> Iterator[AirbyteMessage]:
    """RECORD messages for documents of one stream, CDC fields added in place."""
    emitted_at = now_ms()
    name = table.name
    namespace = table.namespace
    for document in documents:
        yield AirbyteMessage(
            type=_RECORD,
            record=AirbyteRecordMessage(
                stream=name, data=add_cdc_fields(document), emitted_at=emitted_at, namespace=namespace
            ),
        )


def record(table: TableRef, document: dict[str, Any], emitted_at: int) -> AirbyteMessage:
    """One RECORD message (the change-log walk emits rows of many streams per page)."""
    return AirbyteMessage(
        type=_RECORD,
        record=AirbyteRecordMessage(
            stream=table.name, data=add_cdc_fields(document), emitted_at=emitted_at, namespace=table.namespace
        ),
    )


def state(table: TableRef, stream_state: StreamState) -> AirbyteMessage:
    """A per-stream (STREAM) state message; the entrypoint adds `sourceStats`."""
    return AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=table.name, namespace=table.namespace),
                stream_state=AirbyteStateBlob(dict(stream_state)),
            ),
        ),
    )


def status(name: str, namespace: Optional[str], value: AirbyteStreamStatus) -> AirbyteMessage:
    """A stream status trace (STARTED, RUNNING, COMPLETE, INCOMPLETE)."""
    return AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.STREAM_STATUS,
            emitted_at=float(now_ms()),
            stream_status=AirbyteStreamStatusTraceMessage(
                stream_descriptor=StreamDescriptor(name=name, namespace=namespace), status=value
            ),
        ),
    )

"""The connector boundary: a ConnectorError becomes an AirbyteTracedException, here and only here.

The only module of this package that imports airbyte_cdk (about 1.6 s to import), so the
client stays light for anything that does not need the CDK.
"""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import AirbyteRecordMessage, FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .errors import ConnectorError, ConvexError


def to_trace(err: ConnectorError, step: str | None = None) -> AirbyteTracedException:
    """The ERROR trace of `err`: what was being done (its `step`, else `step`), what failed, Convex's
    code and the remedy. Raise the result `from None`."""
    doing = err.step or step
    if isinstance(err, ConvexError):
        internal = f"{type(err).__name__}: {err.details or err.explanation}"
    else:
        internal = err.internal or f"{type(err).__name__}: {err}"
    return AirbyteTracedException(
        message=f"{doing}: {err}" if doing else str(err),
        internal_message=internal,
        failure_type=FailureType(err.failure_type),
        exception=err,
    )


def record_dict(record: AirbyteRecordMessage) -> dict[str, Any]:
    """A RECORD message as a plain dict, every top-level null of `data` kept.

    The CDK's serialiser (serpyco, `omit_none`) drops top-level null fields of `data`, so a field
    holding null would arrive as missing, and `_ab_cdc_deleted_at: null` never be written. Both
    connectors build record dicts here instead (the source to print them, the destination to read
    parsed messages). `namespace` is left out when there is none, as the protocol's JSON does;
    `meta` and `file_reference` are not written (callers holding them use the CDK's serialiser)."""
    return record_fields_dict(record.stream, record.data, record.emitted_at, record.namespace)


def record_fields_dict(stream: str, data: dict[str, Any], emitted_at: int, namespace: str | None) -> dict[str, Any]:
    """`record_dict` of a record given by its fields (the source writes pages of records without
    building an `AirbyteRecordMessage` for each)."""
    payload: dict[str, Any] = {"stream": stream, "data": data, "emitted_at": emitted_at}
    if namespace is not None:
        payload["namespace"] = namespace
    return {"type": "RECORD", "record": payload}

"""The connector boundary: a ConnectorError becomes an AirbyteTracedException, here and only here.

The only module of this package that imports airbyte_cdk (about 1.6 s to import), so the
client stays light for anything that does not need the CDK.
"""

from __future__ import annotations

from airbyte_cdk.models import FailureType
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

"""The connector boundary: a ConvexError becomes an AirbyteTracedException, here and only here.

The only module of this package that imports airbyte_cdk (about 1.6 s to import), so the
client stays light for anything that does not need the CDK.
"""

from __future__ import annotations

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .errors import ConvexError


def traced(err: ConvexError, context: str) -> AirbyteTracedException:
    """`context` says what was being done ("Reading table users"); the message adds what
    failed, Convex's code and the remedy. Raise the result `from err` or `from None`."""
    return AirbyteTracedException(
        message=f"{context}: {err}",
        internal_message=f"{type(err).__name__}: {err.details or err.explanation}",
        failure_type=FailureType(err.failure_type),
        exception=err,
    )

"""The destination's own failures.

Three classes, all the shared `ConnectorError` (nobody catches a finer one): `DestinationError`,
whose `failure_type` says what the user must do (config_error: change something; transient_error:
try again later; system_error: a bug or a broken source), `ConfigurationError` (the config or the
catalog, always config_error), and `ConvexStepError`, a Convex failure with the step the destination
was in. They become Airbyte error traces only at the connector boundary (`to_trace`), so this module
does not import the CDK.
"""

from __future__ import annotations

from convex_shared import ConvexError
from convex_shared.errors import ConnectorError

CONFIG_ERROR = "config_error"
TRANSIENT_ERROR = "transient_error"
SYSTEM_ERROR = "system_error"


class DestinationError(ConnectorError):
    """A failure of the destination's own (the shared ConnectorError with a per-class default type)."""

    failure_type = SYSTEM_ERROR  # type: ignore[assignment]  # the class default; each instance sets its own

    def __init__(self, message: str, *, failure_type: str | None = None) -> None:
        super().__init__(message, failure_type=failure_type or type(self).failure_type)  # type: ignore[arg-type]


class ConfigurationError(DestinationError):
    """The config or the configured catalog asks for something that cannot work."""

    failure_type = CONFIG_ERROR


class ConvexStepError(DestinationError):
    """A Convex request failed (after the shared client's retries) during one named step: the step,
    then the Convex error's message; its type and internal details are the Convex error's."""

    def __init__(self, context: str, error: ConvexError) -> None:
        super().__init__(f"{context}: {error}", failure_type=error.failure_type)
        self.internal = f"{type(error).__name__}: {error.details or error.explanation}"
        self.context = context
        self.error = error

"""The one Convex deployment HTTP client shared by source-convex and destination-convex.

`ConnectionSettings.from_config(config)` normalises what the user typed, `ConvexClient`
speaks the streaming export and import routes, and every failure is a `ConvexError`
(convert it at the connector boundary with `convex_shared.airbyte.traced`).
"""

from .client import ConvexClient
from .config import ConnectionSettings, normalize_access_key, normalize_deployment_url
from .errors import (
    CODE_TABLE,
    ConvexAuthError,
    ConvexBadResponseError,
    ConvexConfigError,
    ConvexError,
    ConvexPermissionError,
    ConvexRequestError,
    ConvexTransientError,
)
from .pages import DataSyncPage, DeltaPage, SnapshotPage
from .retry import CHECK_RETRY, RetryPolicy
from .secret import Secret, redact
from .version import EXPORT_CLIENT, IMPORT_CLIENT, client_id, package_version

__all__ = [
    "CHECK_RETRY",
    "CODE_TABLE",
    "EXPORT_CLIENT",
    "IMPORT_CLIENT",
    "ConnectionSettings",
    "ConvexAuthError",
    "ConvexBadResponseError",
    "ConvexClient",
    "ConvexConfigError",
    "ConvexError",
    "ConvexPermissionError",
    "ConvexRequestError",
    "ConvexTransientError",
    "DataSyncPage",
    "DeltaPage",
    "RetryPolicy",
    "Secret",
    "SnapshotPage",
    "client_id",
    "normalize_access_key",
    "normalize_deployment_url",
    "package_version",
    "redact",
]

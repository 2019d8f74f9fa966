"""The `Convex-Client` header value, built from an installed package's version (written once).

Convex logs `<client>-<semver>`; a value without `-` is rejected with 400 InvalidClientVersion.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

EXPORT_CLIENT: Final = "airbyte-export"
IMPORT_CLIENT: Final = "streaming-import"
SHARED_DIST: Final = "convex-shared"


def package_version(dist: str = SHARED_DIST) -> str:
    """The installed version of distribution `dist` ("0.0.0" when it is not installed,
    e.g. a source checkout on sys.path, so the header stays well formed)."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return "0.0.0"


def client_id(client: str, dist: str = SHARED_DIST) -> str:
    """`Convex-Client` value, e.g. `client_id(EXPORT_CLIENT, "source-convex")` -> `airbyte-export-1.0.0`."""
    return f"{client}-{package_version(dist)}"
